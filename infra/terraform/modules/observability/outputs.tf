output "dashboard_url" {
  description = "CloudWatch dashboard URL."
  value       = "https://${var.region}.console.aws.amazon.com/cloudwatch/home?region=${var.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "alarm_topic_arn" {
  description = "SNS topic receiving alarm notifications."
  value       = aws_sns_topic.alarms.arn
}
