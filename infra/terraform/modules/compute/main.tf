# Compute: one image (<prefix>-app, built from infra/docker/app.Dockerfile) runs every stage.
#   ingress    Lambda behind an API Gateway HTTP API (webhook routes of the contract + /healthz; WebChat's
#              routes only behind an authorizer, var.webchat_authorizer)
#   egress     one Lambda per channel, fed by its FIFO queue (partial batch responses)
#   dispatcher ECS Fargate service, scaled on inbound backlog per task
#   relay      ECS Fargate service, exactly one task (holds the platforms' gateway connections)
# Lambdas and the relay start through bus.secret_env, which loads the channel secrets (CLAWBUS_SECRET_IDS)
# into CLAWBUS_* variables before the real entry point runs.

locals {
  image = "${aws_ecr_repository.app.repository_url}:${var.app_image_tag}"
  # Fargate spells the Lambda architecture names differently.
  ecs_cpu_architecture = { x86_64 = "X86_64", arm64 = "ARM64" }[var.architecture]

  common_env = {
    CLAWBUS_BUS__PREFIX = var.prefix
    CLAWBUS_BUS__BUCKET = var.state_bucket_name
    CLAWBUS_AWS__REGION = var.region
    CLAWBUS_LOG_LEVEL   = "INFO"
    # Ingress and the relay must agree on who receives Telegram and Slack (webhook vs relay).
    CLAWBUS_TELEGRAM__MODE = var.channel_modes.telegram
    CLAWBUS_SLACK__MODE    = var.channel_modes.slack
  }

  # The contract's webhook routes (ARCHITECTURE.md), each present when its channel is enabled. They are
  # public: platforms cannot present AWS credentials or tokens, and each request is verified in code by
  # its platform signature.
  channel_routes = {
    "POST /webhooks/telegram"             = "telegram"
    "POST /webhooks/slack/events"         = "slack"
    "POST /webhooks/discord/interactions" = "discord"
    "GET /webhooks/whatsapp"              = "whatsapp"
    "POST /webhooks/whatsapp"             = "whatsapp"
  }
  routes = concat(["GET /healthz"], [for key, channel in local.channel_routes : key if contains(var.channels, channel)])

  # WebChat (the page and its API) is for the owner, not for platforms: it is published only behind an
  # authorizer (JWT, e.g. Cognito, or AWS_IAM), never as a public route.
  webchat_route_keys = ["GET /", "ANY /webchat/{proxy+}"]
  webchat_auth       = contains(var.channels, "webchat") ? var.webchat_authorizer : null
  webchat_jwt_routes = try(local.webchat_auth.type, "") == "jwt" ? toset(local.webchat_route_keys) : toset([])
  webchat_iam_routes = try(local.webchat_auth.type, "") == "iam" ? toset(local.webchat_route_keys) : toset([])

  # tracing = true: every stage (the Lambdas and the ECS tasks alike) signs its spans with its own role
  # and posts them to X-Ray's OTLP endpoint itself (bus/xray_otlp.py). No collector sidecar: X-Ray's
  # segment API (the collector's awsxray exporter) drops our random W3C trace ids, its OTLP endpoint takes
  # them (docs/operations.md "Traces").
  tracing_env = var.tracing ? { CLAWBUS_TRACING__EXPORT = "xray" } : {}

  secret_ids   = join(",", values(var.channel_secret_arns))
  lambda_entry = ["python", "-m", "clawbus.bus.secret_env", "/lambda-entrypoint.sh"]
}

resource "aws_ecr_repository" "app" {
  name                 = var.app_repository_name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the newest 30 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 30 }
      action       = { type = "expire" }
    }]
  })
}

# ---- log groups (created here so retention and encryption are ours, not the service defaults) -------

resource "aws_cloudwatch_log_group" "ingress" {
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (default 30): logs carry no message text, and a year is the operator's call.
  name              = "/aws/lambda/${var.ingress_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_group" "egress" {
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (default 30): logs carry no message text, and a year is the operator's call.
  for_each = var.egress_function_names

  name              = "/aws/lambda/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_group" "ecs" {
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (default 30): logs carry no message text, and a year is the operator's call.
  for_each = var.ecs_log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_group" "api" {
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (default 30): access logs only, and a year is the operator's call.
  name              = "/aws/apigateway/${var.prefix}-webhooks"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# ---- ingress: Lambda + HTTP API ----------------------------------------------------------------------

resource "aws_lambda_function" "ingress" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway; a failed webhook is retried by the platform, so an async DLQ would never be used.
  #checkov:skip=CKV_AWS_117:Talks only to public AWS endpoints; a VPC would add a NAT dependency and nothing to protect.
  #checkov:skip=CKV_AWS_272:Container-image functions do not support Lambda code signing; images are immutable-tagged and scanned in ECR.
  function_name                  = var.ingress_function_name
  role                           = var.roles.ingress
  package_type                   = "Image"
  image_uri                      = local.image
  architectures                  = [var.architecture]
  memory_size                    = var.lambda.ingress_memory_mb
  timeout                        = var.lambda.ingress_timeout_s
  reserved_concurrent_executions = var.lambda.ingress_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  image_config {
    entry_point = local.lambda_entry
    command     = [var.lambda.ingress_handler]
  }

  environment {
    variables = merge(local.common_env, local.tracing_env, {
      CLAWBUS_SECRET_IDS       = local.secret_ids
      CLAWBUS_WEBCHAT__ENABLED = contains(var.channels, "webchat") ? "true" : "false"
      # WebChat and the dashboard answer only to known Host names: the API's own.
      CLAWBUS_INGRESS__ALLOWED_HOSTS = jsonencode([replace(aws_apigatewayv2_api.webhooks.api_endpoint, "https://", "")])
    })
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.ingress]
}

resource "aws_apigatewayv2_api" "webhooks" {
  name          = "${var.prefix}-webhooks"
  protocol_type = "HTTP"
  description   = "clawbus ${var.prefix}: platform webhooks, /healthz, and WebChat behind an authorizer"
}

resource "aws_apigatewayv2_integration" "ingress" {
  api_id                 = aws_apigatewayv2_api.webhooks.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.ingress.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "ingress" {
  #checkov:skip=CKV_AWS_309:Platforms cannot present AWS credentials; each webhook is authenticated in code by its platform signature (Telegram secret token, Slack HMAC, Discord Ed25519, WhatsApp HMAC).
  for_each = toset(local.routes)

  api_id    = aws_apigatewayv2_api.webhooks.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.ingress.id}"
}

resource "aws_apigatewayv2_authorizer" "webchat" {
  count = length(local.webchat_jwt_routes) > 0 ? 1 : 0

  api_id           = aws_apigatewayv2_api.webhooks.id
  name             = "${var.prefix}-webchat"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = local.webchat_auth.issuer
    audience = local.webchat_auth.audience
  }
}

resource "aws_apigatewayv2_route" "webchat_jwt" {
  for_each = local.webchat_jwt_routes

  api_id             = aws_apigatewayv2_api.webhooks.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.ingress.id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.webchat[0].id
}

resource "aws_apigatewayv2_route" "webchat_iam" {
  for_each = local.webchat_iam_routes

  api_id             = aws_apigatewayv2_api.webhooks.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.ingress.id}"
  authorization_type = "AWS_IAM"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.webhooks.id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api.arn
    format = jsonencode({
      requestId = "$context.requestId"
      routeKey  = "$context.routeKey"
      status    = "$context.status"
      latencyMs = "$context.responseLatency"
      error     = "$context.integrationErrorMessage"
    })
  }

  default_route_settings {
    throttling_burst_limit = 200
    throttling_rate_limit  = 100
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.ingress.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.webhooks.execution_arn}/*/*"
}

# ---- egress: one Lambda per channel on its FIFO queue ----------------------------------------------

resource "aws_lambda_function" "egress" {
  #checkov:skip=CKV_AWS_116:Invoked by an SQS event source; failures stay on the FIFO queue and redrive to its DLQ, so an async DLQ would never be used.
  #checkov:skip=CKV_AWS_117:Talks only to public AWS and platform endpoints; a VPC would add a NAT dependency and nothing to protect.
  #checkov:skip=CKV_AWS_272:Container-image functions do not support Lambda code signing; images are immutable-tagged and scanned in ECR.
  for_each = var.egress_function_names

  function_name                  = each.value
  role                           = var.roles.egress[each.key]
  package_type                   = "Image"
  image_uri                      = local.image
  architectures                  = [var.architecture]
  memory_size                    = var.lambda.egress_memory_mb
  timeout                        = var.lambda.egress_timeout_s
  reserved_concurrent_executions = var.lambda.egress_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  image_config {
    entry_point = local.lambda_entry
    command     = [var.lambda.egress_handler]
  }

  environment {
    # The handler learns its channel from the records' eventSourceARN (<prefix>-egress-<channel>.fifo).
    variables = merge(local.common_env, local.tracing_env, {
      CLAWBUS_SECRET_IDS = var.channel_secret_arns[each.key]
    })
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.egress]
}

resource "aws_lambda_event_source_mapping" "egress" {
  for_each = var.egress_function_names

  event_source_arn        = var.egress_queue_arns[each.key]
  function_name           = aws_lambda_function.egress[each.key].arn
  batch_size              = var.lambda.egress_batch_size
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.lambda.egress_max_concurrency
  }
}

# ---- ECS: dispatcher and relay ----------------------------------------------------------------------

# ECS creates services only once AWSServiceRoleForECS exists; a new account may not have it yet.
resource "aws_iam_service_linked_role" "ecs" {
  count            = var.create_ecs_service_linked_role ? 1 : 0
  aws_service_name = "ecs.amazonaws.com"
  description      = "ECS service-linked role, created by clawbus ${var.prefix} (var.create_ecs_service_linked_role)"
}

resource "aws_ecs_cluster" "this" {
  name = var.prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_security_group" "tasks" {
  name        = "${var.prefix}-tasks"
  description = "clawbus tasks: no inbound; HTTPS out to AWS APIs and chat platforms"
  vpc_id      = var.vpc_id

  egress {
    #checkov:skip=CKV_AWS_382:Tasks must reach AWS APIs and the chat platforms' public HTTPS endpoints (Discord gateway, Slack, Telegram).
    description = "HTTPS to AWS APIs and chat platforms"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_task_definition" "dispatcher" {
  #checkov:skip=CKV_AWS_249:False positive: checkov cannot resolve var.roles; ecs_execution and dispatcher are different roles (iam.tf).
  family                   = "${var.prefix}-dispatcher"
  requires_compatibilities = ["FARGATE"]

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = local.ecs_cpu_architecture
  }
  network_mode       = "awsvpc"
  cpu                = var.dispatcher.cpu
  memory             = var.dispatcher.memory
  execution_role_arn = var.roles.ecs_execution
  task_role_arn      = var.roles.dispatcher

  container_definitions = jsonencode([{
    name      = "dispatcher"
    image     = local.image
    essential = true
    # Through bus.secret_env: the channels' tokens fetch the files users send (issue 20).
    entryPoint             = ["python", "-m", "clawbus.bus.secret_env", "clawbus"]
    command                = ["dispatcher"]
    readonlyRootFilesystem = true
    stopTimeout            = 30
    environment = [for k, v in merge(local.common_env, local.tracing_env, {
      CLAWBUS_AGENTCORE__RUNTIME_ARN       = var.agent_runtime_arn
      CLAWBUS_AGENTCORE__QUALIFIER         = var.agent_qualifier
      CLAWBUS_DISPATCHER__CONCURRENCY      = tostring(var.dispatcher.concurrency)
      CLAWBUS_DISPATCHER__SHUTDOWN_GRACE_S = "20"
      CLAWBUS_SECRET_IDS                   = local.secret_ids
    }) : { name = k, value = v }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ecs["dispatcher"].name
        awslogs-region        = var.region
        awslogs-stream-prefix = "dispatcher"
      }
    }
  }])
}

resource "aws_ecs_service" "dispatcher" {
  name                               = "${var.prefix}-dispatcher"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.dispatcher.arn
  launch_type                        = "FARGATE"
  desired_count                      = var.dispatcher.min_tasks
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = var.assign_public_ip
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [desired_count] # owned by autoscaling
  }

  depends_on = [aws_iam_service_linked_role.ecs]
}

resource "aws_appautoscaling_target" "dispatcher" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.dispatcher.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.dispatcher.min_tasks
  max_capacity       = var.dispatcher.max_tasks
}

# Target tracking on backlog per task: visible inbound messages / running tasks.
resource "aws_appautoscaling_policy" "dispatcher_backlog" {
  name               = "${var.prefix}-dispatcher-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.dispatcher.service_namespace
  resource_id        = aws_appautoscaling_target.dispatcher.resource_id
  scalable_dimension = aws_appautoscaling_target.dispatcher.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.dispatcher.backlog_per_task
    scale_in_cooldown  = 120
    scale_out_cooldown = 60

    customized_metric_specification {
      metrics {
        id          = "backlog"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = var.inbound_queue_name
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.dispatcher.name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "inbound backlog per dispatcher task"
        expression  = "backlog / IF(tasks > 0, tasks, 1)"
        return_data = true
      }
    }
  }
}

resource "aws_ecs_task_definition" "relay" {
  count = var.relay.enabled ? 1 : 0

  #checkov:skip=CKV_AWS_249:False positive: checkov cannot resolve var.roles; ecs_execution and relay are different roles (iam.tf).
  family                   = "${var.prefix}-relay"
  requires_compatibilities = ["FARGATE"]

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = local.ecs_cpu_architecture
  }
  network_mode       = "awsvpc"
  cpu                = var.relay.cpu
  memory             = var.relay.memory
  execution_role_arn = var.roles.ecs_execution
  task_role_arn      = var.roles.relay

  container_definitions = jsonencode([{
    name                   = "relay"
    image                  = local.image
    essential              = true
    entryPoint             = ["python", "-m", "clawbus.bus.secret_env", "clawbus"]
    command                = ["relay"]
    readonlyRootFilesystem = true
    stopTimeout            = 30
    environment = [for k, v in merge(local.common_env, local.tracing_env, {
      CLAWBUS_SECRET_IDS = local.secret_ids
    }) : { name = k, value = v }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ecs["relay"].name
        awslogs-region        = var.region
        awslogs-stream-prefix = "relay"
      }
    }
  }])
}

resource "aws_ecs_service" "relay" {
  count = var.relay.enabled ? 1 : 0

  name            = "${var.prefix}-relay"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.relay[0].arn
  launch_type     = "FARGATE"
  desired_count   = 1
  # One gateway connection at a time: stop the old task before starting the new one.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = var.assign_public_ip
  }

  depends_on = [aws_iam_service_linked_role.ecs]
}
