# Every input of a clawbus deployment. Only `region` and `subnet_ids` have no usable default.

variable "region" {
  description = "AWS region to deploy into (AgentCore Runtime must be available there)."
  type        = string
}

variable "prefix" {
  description = "Name prefix of every resource (<prefix>-inbound.fifo, ...); the same value as CLAWBUS_BUS__PREFIX."
  type        = string
  default     = "clawbus"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.prefix))
    error_message = "prefix must be 1-31 characters: a lower-case letter, then lower-case letters, digits or '-' (as bus/settings/aws.py)."
  }
}

variable "channels" {
  description = "Enabled channels: each gets an egress FIFO queue + DLQ, a subscription, an egress Lambda and a secret."
  type        = list(string)
  default     = ["webchat", "telegram"]

  validation {
    condition     = length(var.channels) > 0 && alltrue([for c in var.channels : contains(["webchat", "telegram", "slack", "discord", "whatsapp"], c)])
    error_message = "channels must be a non-empty subset of webchat, telegram, slack, discord, whatsapp."
  }

  validation {
    condition     = length(distinct(var.channels)) == length(var.channels)
    error_message = "channels must not repeat a channel."
  }
}

variable "webchat_authorizer" {
  description = "How API Gateway authenticates WebChat (the page and /webchat/*): null (default) publishes no WebChat route at all; {type = \"jwt\", issuer, audience} attaches a JWT authorizer (e.g. a Cognito user pool: issuer https://cognito-idp.<region>.amazonaws.com/<pool id>, audience [<app client id>]); {type = \"iam\"} requires SigV4-signed requests (AWS_IAM). Webhook routes stay public either way: each is verified by its platform's signature."
  type = object({
    type     = string
    issuer   = optional(string)
    audience = optional(list(string), [])
  })
  default = null

  validation {
    condition     = var.webchat_authorizer == null ? true : contains(["jwt", "iam"], var.webchat_authorizer.type)
    error_message = "webchat_authorizer.type must be \"jwt\" or \"iam\"."
  }

  validation {
    condition     = var.webchat_authorizer == null ? true : (var.webchat_authorizer.type != "jwt" || (can(regex("^https://", var.webchat_authorizer.issuer)) && length(var.webchat_authorizer.audience) > 0))
    error_message = "a jwt webchat_authorizer needs an https issuer and at least one audience."
  }
}

variable "state_bucket_name" {
  description = "Name of the S3 state bucket. Bucket names are global, so the default is <prefix>-state-<account id> (the embedded default uses <prefix>-state; set CLAWBUS_BUS__BUCKET to match)."
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, '.', '-')."
  }
}

variable "app_image_tag" {
  description = "Tag of the clawbus image in the <prefix>-app ECR repository (ingress, egress, dispatcher, relay). Tags are immutable: push a new tag per release."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.app_image_tag))
    error_message = "app_image_tag must be a valid image tag."
  }
}

variable "app_architecture" {
  description = "CPU architecture of the clawbus image, its Lambdas and its Fargate tasks: x86_64 or arm64. infra/docker/build.sh reads it (from terraform.tfvars, else this default) to build the image for it."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.app_architecture)
    error_message = "app_architecture must be x86_64 or arm64."
  }
}

variable "agent_image_tag" {
  description = "Tag of the agent image (linux/arm64) in the <prefix>-agent ECR repository. Ignored when agent_runtime_arn is set."
  type        = string
  default     = "v1"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.agent_image_tag))
    error_message = "agent_image_tag must be a valid image tag."
  }
}

variable "agent_runtime_arn" {
  description = "Bring your own AgentCore Runtime: its ARN. When set, no runtime, endpoint, agent role or agent repository is created, and the dispatcher invokes this one."
  type        = string
  default     = null

  validation {
    condition     = var.agent_runtime_arn == null || can(regex("^arn:aws[a-z-]*:bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:runtime/[a-zA-Z][a-zA-Z0-9_]{0,47}-[a-zA-Z0-9]{10}$", var.agent_runtime_arn))
    error_message = "agent_runtime_arn must look like arn:aws:bedrock-agentcore:<region>:<account>:runtime/<name>-<10 alnum>."
  }
}

variable "agent_runtime_qualifier" {
  description = "Endpoint name the dispatcher invokes on a brought-your-own runtime (ignored otherwise: the created endpoint is used)."
  type        = string
  default     = "DEFAULT"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,47}$", var.agent_runtime_qualifier))
    error_message = "agent_runtime_qualifier must match [a-zA-Z][a-zA-Z0-9_]{0,47}."
  }
}

variable "agent_model" {
  description = "Model the agent uses (CLAWBUS_AGENT__MODEL); the default needs no model access."
  type        = string
  default     = "offline/echo"
}

variable "agent_engine" {
  description = "Who runs the agent's turns (CLAWBUS_AGENT__ENGINE): openclaw (the user's own OpenClaw, supervised in the container) or native (clawbus's Python loop). The image carries both."
  type        = string
  default     = "openclaw"

  validation {
    condition     = contains(["openclaw", "native"], var.agent_engine)
    error_message = "agent_engine must be \"openclaw\" or \"native\" (bus/settings/agent.py AgentSettings.engine)."
  }
}

variable "agent_model_arns" {
  description = "Bedrock model (or inference profile) ARNs the agent may invoke; empty grants none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.agent_model_arns : can(regex("^arn:aws[a-z-]*:bedrock:", a))])
    error_message = "agent_model_arns must be Bedrock ARNs (foundation-model or inference-profile)."
  }
}

variable "agent_idle_session_timeout_s" {
  description = "AgentCore idle session timeout (seconds)."
  type        = number
  default     = 900

  validation {
    condition     = var.agent_idle_session_timeout_s >= 60 && var.agent_idle_session_timeout_s <= 28800
    error_message = "agent_idle_session_timeout_s must be 60..28800."
  }
}

variable "agent_ids" {
  description = "Agents that get a heartbeat schedule (each targets its main session agent:<id>:main)."
  type        = list(string)
  default     = ["main"]

  validation {
    condition     = alltrue([for a in var.agent_ids : can(regex("^[a-z0-9][a-z0-9_-]{0,40}$", a))])
    error_message = "agent_ids must be lower-case ids of 1-41 characters (letters, digits, '_', '-')."
  }
}

variable "heartbeat_schedule" {
  description = "EventBridge Scheduler expression of the heartbeat, e.g. rate(30 minutes) or cron(0 9 * * ? *)."
  type        = string
  default     = "rate(30 minutes)"

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.heartbeat_schedule))
    error_message = "heartbeat_schedule must be rate(<n> <unit>) or cron(<6 fields>)."
  }
}

variable "heartbeats" {
  description = "Per-agent heartbeats (OpenClaw's agents.entries.<id>.heartbeat): agent id => what it sets over heartbeat_schedule/heartbeat_timezone/heartbeat_enabled. Non-empty: only these agents get a heartbeat schedule (agent_ids is not used), as in OpenClaw."
  type = map(object({
    schedule = optional(string)
    timezone = optional(string)
    enabled  = optional(bool)
  }))
  default = {}

  validation {
    condition = alltrue([
      for id, h in var.heartbeats : can(regex("^[a-z0-9][a-z0-9_-]{0,40}$", id)) && (
        h.schedule == null || can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", h.schedule))
      )
    ])
    error_message = "heartbeats keys must be agent ids like agent_ids, and each schedule rate(<n> <unit>) or cron(<6 fields>)."
  }
}

variable "heartbeat_timezone" {
  description = "IANA time zone of the heartbeat schedule."
  type        = string
  default     = "UTC"
}

variable "heartbeat_enabled" {
  description = "Whether the heartbeat schedules are ENABLED (false creates them DISABLED)."
  type        = bool
  default     = true
}

variable "subnet_ids" {
  description = "Subnets for the dispatcher and relay tasks (private subnets with a NAT gateway, or public ones with assign_public_ip)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids needs at least one subnet."
  }
}

variable "vpc_id" {
  description = "VPC of subnet_ids (for the tasks' security group)."
  type        = string
}

variable "assign_public_ip" {
  description = "Give tasks a public IP (public subnets without NAT)."
  type        = bool
  default     = false
}

variable "create_ecs_service_linked_role" {
  description = "Create the ECS service-linked role (AWSServiceRoleForECS). An account that never used ECS lacks it and the ECS services fail to create; an account that has it fails to create it again. Check with: aws iam get-role --role-name AWSServiceRoleForECS (docs/deploy.md step 0)."
  type        = bool
  default     = false
}

variable "dispatcher" {
  description = "Dispatcher service size and scaling: tasks scale on inbound backlog (visible messages) per task."
  type = object({
    cpu              = optional(number, 512)
    memory           = optional(number, 1024)
    concurrency      = optional(number, 64)
    min_tasks        = optional(number, 1)
    max_tasks        = optional(number, 10)
    backlog_per_task = optional(number, 20)
  })
  default = {}

  validation {
    condition     = var.dispatcher.min_tasks >= 1 && var.dispatcher.max_tasks >= var.dispatcher.min_tasks && var.dispatcher.backlog_per_task > 0
    error_message = "dispatcher needs 1 <= min_tasks <= max_tasks and backlog_per_task > 0."
  }
}

variable "channel_modes" {
  description = "How Telegram and Slack reach clawbus: telegram = \"webhook\" (default) or \"polling\", slack = \"events\" (default) or \"socket\". Polling and Socket Mode run in the relay; Terraform sets CLAWBUS_TELEGRAM__MODE and CLAWBUS_SLACK__MODE from this."
  type = object({
    telegram = optional(string, "webhook")
    slack    = optional(string, "events")
  })
  default = {}

  validation {
    condition     = contains(["webhook", "polling"], var.channel_modes.telegram) && contains(["events", "socket"], var.channel_modes.slack)
    error_message = "channel_modes.telegram must be webhook or polling; channel_modes.slack must be events or socket."
  }
}

variable "relay" {
  description = "The relay (Discord gateway, Slack Socket Mode, Telegram polling): one task, never scaled out (one gateway connection). enabled = null (default) runs it only when a channel needs it (discord in channels, telegram polling or slack socket in channel_modes); with nothing to relay it would exit and ECS would restart it forever."
  type = object({
    enabled = optional(bool)
    cpu     = optional(number, 256)
    memory  = optional(number, 512)
  })
  default = {}
}

variable "lambda" {
  description = "Ingress and egress Lambda sizing. egress_timeout_s must stay below the egress queues' 60 s visibility timeout. The *_reserved_concurrency fields reserve account concurrency per function (null: none, so accounts with the default quota of 10 can apply); egress_max_concurrency caps each egress queue's event source without reserving anything."
  type = object({
    ingress_memory_mb            = optional(number, 512)
    ingress_timeout_s            = optional(number, 29)
    ingress_reserved_concurrency = optional(number)
    egress_memory_mb             = optional(number, 512)
    egress_timeout_s             = optional(number, 20)
    egress_batch_size            = optional(number, 10)
    egress_max_concurrency       = optional(number, 10)
    egress_reserved_concurrency  = optional(number)
    ingress_handler              = optional(string, "clawbus.ingress.lambda_handler.handler")
    egress_handler               = optional(string, "clawbus.egress.lambda_handler.handler")
  })
  default = {}

  validation {
    condition     = var.lambda.egress_timeout_s >= 3 && var.lambda.egress_timeout_s <= 60
    error_message = "lambda.egress_timeout_s must be 3..60 (the egress queue's visibility timeout is 60 s)."
  }

  validation {
    condition     = var.lambda.ingress_timeout_s >= 3 && var.lambda.ingress_timeout_s <= 30
    error_message = "lambda.ingress_timeout_s must be 3..30 (API Gateway HTTP APIs time out at 30 s)."
  }

  validation {
    condition     = var.lambda.egress_batch_size >= 1 && var.lambda.egress_batch_size <= 10
    error_message = "lambda.egress_batch_size must be 1..10 (FIFO event sources take at most 10)."
  }

  validation {
    condition     = var.lambda.egress_max_concurrency >= 2 && var.lambda.egress_max_concurrency <= 1000
    error_message = "lambda.egress_max_concurrency must be 2..1000."
  }

  # coalesce: Terraform does not short-circuit `==null ||`, so a null would fail the comparison.
  validation {
    condition     = coalesce(var.lambda.ingress_reserved_concurrency, 1) >= 1 && coalesce(var.lambda.egress_reserved_concurrency, 1) >= 1
    error_message = "lambda.ingress_reserved_concurrency and lambda.egress_reserved_concurrency must be null (no reservation) or >= 1."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group (days)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "alarms" {
  description = "Alarm thresholds and where notifications go (email is optional: subscribe anything to the alarm topic)."
  type = object({
    email                  = optional(string)
    oldest_message_age_s   = optional(number, 300)
    lambda_errors_per_5min = optional(number, 5)
    dispatcher_errors_5min = optional(number, 5)
    egress_throttled_5min  = optional(number, 20)
  })
  default = {}

  validation {
    condition     = var.alarms.oldest_message_age_s >= 60
    error_message = "alarms.oldest_message_age_s must be at least 60 seconds."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "tracing" {
  description = "Export OpenTelemetry traces to X-Ray: every stage (the Lambdas, the dispatcher and relay tasks, the agent) signs its spans with its own role and posts them to X-Ray's OTLP endpoint (CLAWBUS_TRACING__EXPORT=xray), with Transaction Search on (tracing.tf). Off: no spans leave any stage."
  type        = bool
  default     = false
}

variable "transaction_search" {
  description = "With tracing = true, turn on CloudWatch Transaction Search in this account and region (X-Ray's OTLP endpoint needs it; tracing.tf). False when the account already has it or another stack manages it."
  type        = bool
  default     = true
}

variable "media_expiry_days" {
  description = "Days users' files (photos, voice notes, documents under media/ in the state bucket) are kept (issue 20)."
  type        = number
  default     = 30
}
