output "webhook_base_url" {
  description = "Base URL of the webhook API (API Gateway HTTP API, $default stage)."
  value       = module.compute.api_endpoint
}

output "webhook_urls" {
  description = "Webhook URL per enabled channel, to register with each platform (docs/deploy.md)."
  value = merge(
    { healthz = "${module.compute.api_endpoint}/healthz" },
    contains(var.channels, "telegram") ? { telegram = "${module.compute.api_endpoint}/webhooks/telegram" } : {},
    contains(var.channels, "slack") ? { slack = "${module.compute.api_endpoint}/webhooks/slack/events" } : {},
    contains(var.channels, "discord") ? { discord = "${module.compute.api_endpoint}/webhooks/discord/interactions" } : {},
    contains(var.channels, "whatsapp") ? { whatsapp = "${module.compute.api_endpoint}/webhooks/whatsapp" } : {},
    module.compute.webchat_published ? { webchat = "${module.compute.api_endpoint}/" } : {},
  )
}

output "queue_urls" {
  description = "URL of every bus queue (and DLQ), by name; plus the scheduler's standard DLQ."
  value       = merge(module.bus.queue_urls, { (module.scheduler.dlq_name) = module.scheduler.dlq_url })
}

output "outbound_topic_arn" {
  description = "ARN of the outbound SNS FIFO topic."
  value       = module.bus.outbound_topic_arn
}

output "dashboard_url" {
  description = "The deployment's CloudWatch dashboard."
  value       = module.observability.dashboard_url
}

output "alarm_topic_arn" {
  description = "Subscribe on-call endpoints here."
  value       = module.observability.alarm_topic_arn
}

output "app_repository_url" {
  description = "Push the clawbus image here (tag = app_image_tag)."
  value       = module.compute.app_repository_url
}

output "agent_repository_url" {
  description = "Push the agent image (linux/arm64) here (tag = agent_image_tag); null when bringing your own runtime."
  value       = local.create_agent ? module.agentcore[0].repository_url : null
}

output "agent_runtime_arn" {
  description = "Runtime the dispatcher invokes."
  value       = local.agent_runtime_arn
}

output "state_bucket" {
  description = "State bucket name (CLAWBUS_BUS__BUCKET for CLI use against this deployment)."
  value       = module.state.bucket_name
}

output "channel_secret_names" {
  description = "Secrets Manager secret per channel: put a JSON object of CLAWBUS_<CHANNEL>__* values in each."
  value       = module.state.channel_secret_names
}

output "config_parameter_name" {
  description = "SSM parameter holding the deployment config."
  value       = module.state.config_parameter_name
}

output "scheduler_role_arn" {
  description = "Role EventBridge Scheduler assumes (CLAWBUS_SCHEDULER__ROLE_ARN for 'clawbus cron' against AWS)."
  value       = module.role_scheduler.arn
}
