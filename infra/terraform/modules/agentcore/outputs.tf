output "runtime_arn" {
  description = "Agent runtime ARN (CLAWBUS_AGENTCORE__RUNTIME_ARN)."
  value       = aws_bedrockagentcore_agent_runtime.agent.agent_runtime_arn
}

output "endpoint_name" {
  description = "Endpoint the dispatcher invokes (CLAWBUS_AGENTCORE__QUALIFIER)."
  value       = aws_bedrockagentcore_agent_runtime_endpoint.live.name
}

output "repository_url" {
  description = "Where to push the agent image."
  value       = aws_ecr_repository.agent.repository_url
}
