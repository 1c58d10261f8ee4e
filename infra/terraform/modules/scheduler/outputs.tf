output "dlq_arn" {
  description = "ARN of the scheduler's standard DLQ."
  value       = aws_sqs_queue.scheduler_dlq.arn
}

output "dlq_name" {
  description = "Name of the scheduler's standard DLQ."
  value       = aws_sqs_queue.scheduler_dlq.name
}

output "dlq_url" {
  description = "URL of the scheduler's standard DLQ."
  value       = aws_sqs_queue.scheduler_dlq.id
}

output "schedule_group" {
  description = "Schedule group name."
  value       = aws_scheduler_schedule_group.this.name
}
