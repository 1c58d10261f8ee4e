output "api_endpoint" {
  description = "Base URL of the webhook API."
  value       = aws_apigatewayv2_api.webhooks.api_endpoint
}

output "api_id" {
  description = "HTTP API id."
  value       = aws_apigatewayv2_api.webhooks.id
}

output "routes" {
  description = "Route keys served."
  value       = sort(local.routes)
}

output "app_repository_url" {
  description = "Where to push the clawbus image."
  value       = aws_ecr_repository.app.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "ecs_log_group_names" {
  description = "Log group per ECS service."
  value       = { for k, g in aws_cloudwatch_log_group.ecs : k => g.name }
}

output "egress_log_group_names" {
  description = "Log group per egress Lambda (by channel)."
  value       = { for k, g in aws_cloudwatch_log_group.egress : k => g.name }
}

output "webchat_published" {
  description = "Whether WebChat's routes are on the HTTP API (only behind an authorizer)."
  value       = local.webchat_auth != null
}
