# The agent on Bedrock AgentCore Runtime: an ECR repository for its image (linux/arm64, built from
# infra/docker/agent.Dockerfile), the runtime, and a `live` endpoint pinned to the runtime's current
# version, which the dispatcher invokes (qualifier). The runtime's role is created in iam.tf.

locals {
  # Runtime and endpoint names allow [a-zA-Z][a-zA-Z0-9_]{0,47}: no hyphens.
  runtime_name  = "${replace(var.prefix, "-", "_")}_agent"
  endpoint_name = "live"
}

resource "aws_ecr_repository" "agent" {
  name                 = var.repository_name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "agent" {
  repository = aws_ecr_repository.agent.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the newest 20 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 20 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_bedrockagentcore_agent_runtime" "agent" {
  agent_runtime_name = local.runtime_name
  description        = "clawbus ${var.prefix} agent"
  role_arn           = var.role_arn

  agent_runtime_artifact {
    container_configuration {
      container_uri = "${aws_ecr_repository.agent.repository_url}:${var.image_tag}"
    }
  }

  network_configuration {
    network_mode = "PUBLIC"
  }

  protocol_configuration {
    server_protocol = "HTTP"
  }

  lifecycle_configuration {
    idle_runtime_session_timeout = var.idle_session_timeout
    max_lifetime                 = 28800
  }

  environment_variables = merge({
    CLAWBUS_AGENT__HOST  = "0.0.0.0"
    CLAWBUS_AGENT__PORT  = "8080"
    CLAWBUS_AGENT__MODEL = var.model
    # openclaw: the container supervises an OpenClaw gateway (Node 24 + OpenClaw from the image, state under
    # /tmp: the image's ENV), started and warmed up during initialisation (~20 s; docs/deploy.md).
    CLAWBUS_AGENT__ENGINE = var.engine
    CLAWBUS_BUS__PREFIX   = var.prefix
    CLAWBUS_BUS__BUCKET   = var.state_bucket_name # the workspace: agents/<agentId>/workspace/
    # The cron tool creates schedules that Scheduler runs as this role, dead-lettering to this queue.
    CLAWBUS_SCHEDULER__ROLE_ARN        = var.scheduler_role_arn
    CLAWBUS_SCHEDULER__DEAD_LETTER_ARN = var.scheduler_dlq_arn
    # No collector runs beside the agent on AgentCore Runtime: with tracing on, it signs its spans with the
    # runtime role and posts them to X-Ray's OTLP endpoint itself (bus/xray_otlp.py).
  }, var.tracing ? { CLAWBUS_TRACING__EXPORT = "xray" } : {})
}

resource "aws_bedrockagentcore_agent_runtime_endpoint" "live" {
  name                  = local.endpoint_name
  agent_runtime_id      = aws_bedrockagentcore_agent_runtime.agent.agent_runtime_id
  agent_runtime_version = aws_bedrockagentcore_agent_runtime.agent.agent_runtime_version
  description           = "what the dispatcher invokes; follows the runtime's latest version on apply"
}
