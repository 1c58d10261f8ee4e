# clawbus on AWS: the bus (queues, topic), state (tables, bucket, secrets), the agent runtime,
# compute (ingress/egress Lambdas, dispatcher/relay on ECS), the heartbeat scheduler and observability.
# Roles and their policies are in iam.tf; the key in kms.tf.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  arn_tail   = "${var.region}:${local.account_id}"

  state_bucket_name = coalesce(var.state_bucket_name, "${var.prefix}-state-${local.account_id}")
  create_agent      = var.agent_runtime_arn == null

  # Names known before the resources exist, so roles can be created first (no dependency cycles).
  app_repository_name   = "${var.prefix}-app"
  agent_repository_name = "${var.prefix}-agent"
  ingress_function_name = "${var.prefix}-ingress"
  egress_function_names = { for c in var.channels : c => "${var.prefix}-egress-${c}" }
  ecs_log_groups        = { dispatcher = "/ecs/${var.prefix}/dispatcher", relay = "/ecs/${var.prefix}/relay" }
  log_group_arn_prefix  = "arn:${local.partition}:logs:${local.arn_tail}:log-group:"

  # The channels whose connection the relay holds (ingress/relay/main.py relayed_channels), and whether it runs.
  relay_channels = concat(contains(var.channels, "discord") ? ["discord"] : [], contains(var.channels, "telegram") && var.channel_modes.telegram == "polling" ? ["telegram"] : [], contains(var.channels, "slack") && var.channel_modes.slack == "socket" ? ["slack"] : [])
  relay_enabled  = var.relay.enabled == null ? length(local.relay_channels) > 0 : var.relay.enabled

  agent_runtime_arn = local.create_agent ? module.agentcore[0].runtime_arn : var.agent_runtime_arn
  agent_qualifier   = local.create_agent ? module.agentcore[0].endpoint_name : var.agent_runtime_qualifier
  agent_invoke_arns = [local.agent_runtime_arn, "${local.agent_runtime_arn}/runtime-endpoint/${local.agent_qualifier}"]
}

module "bus" {
  source = "./modules/bus"

  prefix      = var.prefix
  channels    = var.channels
  kms_key_arn = aws_kms_key.this.arn
}

module "state" {
  source = "./modules/state"

  prefix      = var.prefix
  channels    = var.channels
  bucket_name = local.state_bucket_name
  kms_key_arn = aws_kms_key.this.arn

  media_expiry_days = var.media_expiry_days
}

module "agentcore" {
  source = "./modules/agentcore"
  count  = local.create_agent ? 1 : 0

  prefix          = var.prefix
  repository_name = local.agent_repository_name
  image_tag       = var.agent_image_tag
  # The runtime pulls its image with the role's policy, so it waits for the policy (through this output,
  # not a module-wide depends_on, which would make `-target` of the agent repository create the roles).
  role_arn             = module.role_agent[0].arn_with_policy
  kms_key_arn          = aws_kms_key.this.arn
  model                = var.agent_model
  engine               = var.agent_engine
  idle_session_timeout = var.agent_idle_session_timeout_s
  state_bucket_name    = local.state_bucket_name
  scheduler_role_arn   = module.role_scheduler.arn
  scheduler_dlq_arn    = module.scheduler.dlq_arn
  tracing              = var.tracing
}

module "compute" {
  source = "./modules/compute"

  prefix                = var.prefix
  region                = var.region
  channels              = var.channels
  webchat_authorizer    = var.webchat_authorizer
  kms_key_arn           = aws_kms_key.this.arn
  log_retention_days    = var.log_retention_days
  app_repository_name   = local.app_repository_name
  app_image_tag         = var.app_image_tag
  architecture          = var.app_architecture
  ingress_function_name = local.ingress_function_name
  egress_function_names = local.egress_function_names
  ecs_log_groups        = local.ecs_log_groups
  state_bucket_name     = local.state_bucket_name
  channel_secret_arns   = module.state.channel_secret_arns
  egress_queue_arns     = module.bus.egress_queue_arns
  agent_runtime_arn     = local.agent_runtime_arn
  agent_qualifier       = local.agent_qualifier
  subnet_ids            = var.subnet_ids
  vpc_id                = var.vpc_id
  assign_public_ip      = var.assign_public_ip

  create_ecs_service_linked_role = var.create_ecs_service_linked_role
  dispatcher                     = var.dispatcher
  relay                          = merge(var.relay, { enabled = local.relay_enabled })
  channel_modes                  = var.channel_modes
  lambda                         = var.lambda
  inbound_queue_name             = module.bus.inbound_queue_name
  tracing                        = var.tracing

  roles = {
    ingress       = module.role_ingress.arn
    dispatcher    = module.role_dispatcher.arn
    relay         = module.role_relay.arn
    ecs_execution = module.role_ecs_execution.arn
    egress        = { for c, m in module.role_egress : c => m.arn }
  }
}

module "scheduler" {
  source = "./modules/scheduler"

  prefix            = var.prefix
  agent_ids         = var.agent_ids
  heartbeats        = var.heartbeats
  inbound_queue_arn = module.bus.inbound_queue_arn
  role_arn          = module.role_scheduler.arn
  kms_key_arn       = aws_kms_key.this.arn
  expression        = var.heartbeat_schedule
  timezone          = var.heartbeat_timezone
  enabled           = var.heartbeat_enabled
}

module "observability" {
  source = "./modules/observability"

  prefix      = var.prefix
  region      = var.region
  channels    = var.channels
  kms_key_arn = aws_kms_key.this.arn
  alarms      = var.alarms
  queue_names = module.bus.queue_names
  dlq_names   = merge(module.bus.dlq_names, { scheduler = module.scheduler.dlq_name })
  lambda_function_names = merge(
    { ingress = local.ingress_function_name },
    { for c, n in local.egress_function_names : "egress-${c}" => n },
  )
  log_groups = merge(
    module.compute.ecs_log_group_names,
    { for c, n in module.compute.egress_log_group_names : "egress-${c}" => n },
  )
  ecs_cluster_name = module.compute.ecs_cluster_name
  api_id           = module.compute.api_id
}
