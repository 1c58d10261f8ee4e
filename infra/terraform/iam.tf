# Every role of the deployment. The actions come from iam_actions.json, rendered from
# infra/iam.py (the same list tests/infra/test_iam.py checks against the code's AWS calls); this file
# only says which ARNs each resource kind means for each role.

locals {
  iam = jsondecode(file("${path.module}/iam_actions.json")).roles

  kms      = [aws_kms_key.this.arn]
  wildcard = ["*"]
}

module "role_ingress" {
  source = "./modules/role"

  name    = "${var.prefix}-ingress"
  service = "lambda.amazonaws.com"
  grants  = local.iam["ingress"]
  resources = {
    inbound_queue    = [module.bus.inbound_queue_arn]
    outbound_topic   = [module.bus.outbound_topic_arn]
    webchat_table    = [module.state.webchat_table_arn]
    ledger_table     = [module.state.ledger_table_arn]
    pairing_table    = [module.state.pairing_table_arn]
    channel_secrets  = values(module.state.channel_secret_arns)
    config_parameter = [module.state.config_parameter_arn]
    config_object    = ["${module.state.bucket_arn}/config/openclaw.json"]
    reply_media      = ["${module.state.bucket_arn}/media/*"]
    media_uploads    = ["${module.state.bucket_arn}/media/uploads/*"]
    kms_key          = local.kms
    log_group        = ["${local.log_group_arn_prefix}/aws/lambda/${local.ingress_function_name}:*"]
    any              = local.wildcard
  }
}

module "role_relay" {
  source = "./modules/role"

  name    = "${var.prefix}-relay"
  service = "ecs-tasks.amazonaws.com"
  grants  = local.iam["relay"]
  resources = {
    inbound_queue    = [module.bus.inbound_queue_arn]
    outbound_topic   = [module.bus.outbound_topic_arn]
    webchat_table    = [module.state.webchat_table_arn]
    ledger_table     = [module.state.ledger_table_arn]
    pairing_table    = [module.state.pairing_table_arn]
    channel_secrets  = values(module.state.channel_secret_arns)
    config_parameter = [module.state.config_parameter_arn]
    config_object    = ["${module.state.bucket_arn}/config/openclaw.json"]
    reply_media      = [] # the relay serves no WebChat
    kms_key          = local.kms
    any              = local.wildcard
  }
}

module "role_dispatcher" {
  source = "./modules/role"

  name    = "${var.prefix}-dispatcher"
  service = "ecs-tasks.amazonaws.com"
  grants  = local.iam["dispatcher"]
  resources = {
    inbound_queue       = [module.bus.inbound_queue_arn]
    inbound_dlq         = [module.bus.inbound_dlq_arn]
    outbound_topic      = [module.bus.outbound_topic_arn]
    agent_runtime       = local.agent_invoke_arns
    ledger_table        = [module.state.ledger_table_arn]
    cron_table          = [module.state.cron_table_arn]
    sessions_table      = [module.state.sessions_table_arn]
    claim_check_objects = ["${module.state.bucket_arn}/claim-check/*"]
    media_objects       = ["${module.state.bucket_arn}/media/*"]
    channel_secrets     = values(module.state.channel_secret_arns)
    config_parameter    = [module.state.config_parameter_arn]
    config_object       = ["${module.state.bucket_arn}/config/openclaw.json"]
    kms_key             = local.kms
    any                 = local.wildcard
  }
}

module "role_egress" {
  source   = "./modules/role"
  for_each = toset(var.channels)

  name    = "${var.prefix}-egress-${each.key}"
  service = "lambda.amazonaws.com"
  grants  = local.iam["egress"]
  resources = {
    egress_queue        = [module.bus.egress_queue_arns[each.key]]
    egress_dlq          = [module.bus.egress_dlq_arns[each.key]]
    webchat_table       = each.key == "webchat" ? [module.state.webchat_table_arn] : []
    ledger_table        = [module.state.ledger_table_arn]
    claim_check_objects = ["${module.state.bucket_arn}/claim-check/*"]
    reply_media         = ["${module.state.bucket_arn}/media/*"]
    channel_secrets     = [module.state.channel_secret_arns[each.key]]
    config_parameter    = [module.state.config_parameter_arn]
    config_object       = ["${module.state.bucket_arn}/config/openclaw.json"]
    kms_key             = local.kms
    log_group           = ["${local.log_group_arn_prefix}/aws/lambda/${local.egress_function_names[each.key]}:*"]
    any                 = local.wildcard
  }
}

module "role_scheduler" {
  source = "./modules/role"

  name           = "${var.prefix}-scheduler"
  service        = "scheduler.amazonaws.com"
  source_account = local.account_id
  grants         = local.iam["scheduler"]
  resources = {
    inbound_queue = [module.bus.inbound_queue_arn]
    scheduler_dlq = [module.scheduler.dlq_arn]
    kms_key       = local.kms
  }
}

module "role_agent" {
  source = "./modules/role"
  count  = local.create_agent ? 1 : 0

  name           = "${var.prefix}-agent"
  service        = "bedrock-agentcore.amazonaws.com"
  source_account = local.account_id
  grants         = local.iam["agent"]
  resources = {
    agent_repository         = ["arn:${local.partition}:ecr:${local.arn_tail}:repository/${local.agent_repository_name}"]
    agent_log_group          = ["${local.log_group_arn_prefix}/aws/bedrock-agentcore/runtimes/*"]
    model_credentials_secret = [module.state.model_credentials_secret_arn]
    agent_workspace          = ["${module.state.bucket_arn}/agents/*/workspace/*"]
    agent_sessions           = ["${module.state.bucket_arn}/agents/*/sessions/*"]
    reply_media              = ["${module.state.bucket_arn}/media/*"]
    media_objects            = ["${module.state.bucket_arn}/media/*"]
    transcription_jobs       = ["arn:${local.partition}:transcribe:${local.arn_tail}:transcription-job/*"]
    sessions_table           = [module.state.sessions_table_arn]
    agentcore_memory         = ["arn:${local.partition}:bedrock-agentcore:${local.arn_tail}:memory/*"]
    state_bucket             = [module.state.bucket_arn]
    agentcore_metrics        = local.wildcard
    foundation_models        = var.agent_model_arns
    config_parameter         = [module.state.config_parameter_arn]
    config_object            = ["${module.state.bucket_arn}/config/openclaw.json"]
    cron_table               = [module.state.cron_table_arn]
    schedules                = ["arn:${local.partition}:scheduler:${local.arn_tail}:schedule/${module.scheduler.schedule_group}/*"]
    scheduler_role           = [module.role_scheduler.arn]
    inbound_queue            = [module.bus.inbound_queue_arn]
    kms_key                  = local.kms
    # AgentCore's system browser (aws.browser.v1) and the account's own browsers.
    agentcore_browser = [
      "arn:${local.partition}:bedrock-agentcore:${var.region}:aws:browser/aws.browser.v1",
      "arn:${local.partition}:bedrock-agentcore:${local.arn_tail}:browser/*",
    ]
    any = local.wildcard
  }
  conditions = {
    RuntimeMetrics     = [{ test = "StringEquals", variable = "cloudwatch:namespace", values = ["bedrock-agentcore"] }]
    ListAgentWorkspace = [{ test = "StringLike", variable = "s3:prefix", values = ["agents/*/workspace/*"] }]
  }
}

module "role_ecs_execution" {
  source = "./modules/role"

  name    = "${var.prefix}-ecs-execution"
  service = "ecs-tasks.amazonaws.com"
  grants  = local.iam["ecs_execution"]
  resources = {
    app_repository = ["arn:${local.partition}:ecr:${local.arn_tail}:repository/${local.app_repository_name}"]
    log_group      = [for name in values(local.ecs_log_groups) : "${local.log_group_arn_prefix}${name}:*"]
    kms_key        = local.kms
    any            = local.wildcard
  }
}
