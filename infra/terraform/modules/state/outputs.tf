output "ledger_table_arn" {
  description = "ARN of <prefix>-ledger."
  value       = aws_dynamodb_table.ledger.arn
}

output "webchat_table_arn" {
  description = "ARN of <prefix>-webchat."
  value       = aws_dynamodb_table.webchat.arn
}

output "pairing_table_arn" {
  description = "ARN of <prefix>-pairing."
  value       = aws_dynamodb_table.pairing.arn
}

output "cron_table_arn" {
  description = "ARN of <prefix>-cron."
  value       = aws_dynamodb_table.cron.arn
}

output "sessions_table_arn" {
  description = "ARN of <prefix>-sessions."
  value       = aws_dynamodb_table.sessions.arn
}

output "bucket_name" {
  description = "State bucket name."
  value       = aws_s3_bucket.state.id
}

output "bucket_arn" {
  description = "State bucket ARN."
  value       = aws_s3_bucket.state.arn
}

output "channel_secret_arns" {
  description = "Secret ARN per channel."
  value       = { for c, s in aws_secretsmanager_secret.channel : c => s.arn }
}

output "channel_secret_names" {
  description = "Secret name per channel."
  value       = { for c, s in aws_secretsmanager_secret.channel : c => s.name }
}

output "config_parameter_arn" {
  description = "SSM parameter holding the deployment config (ARN; every stage reads it at start)."
  value       = aws_ssm_parameter.config.arn
}

output "config_parameter_name" {
  description = "SSM parameter holding the deployment config."
  value       = aws_ssm_parameter.config.name
}

output "model_credentials_secret_arn" {
  description = "The OpenClaw engine's model-provider keys (<prefix>/agent/model-credentials)."
  value       = aws_secretsmanager_secret.model_credentials.arn
}
