variable "prefix" {
  description = "Resource name prefix."
  type        = string
}

variable "region" {
  description = "AWS region (CLAWBUS_AWS__REGION)."
  type        = string
}

variable "channels" {
  description = "Enabled channels."
  type        = list(string)
}

variable "webchat_authorizer" {
  description = "WebChat's API Gateway authorizer (see the root variable); null publishes no WebChat route."
  type = object({
    type     = string
    issuer   = optional(string)
    audience = optional(list(string), [])
  })
  default = null
}

variable "kms_key_arn" {
  description = "KMS key for logs, environment variables and the image repository."
  type        = string
}

variable "log_retention_days" {
  description = "Log retention (days)."
  type        = number
}

variable "app_repository_name" {
  description = "ECR repository of the clawbus image."
  type        = string
}

variable "app_image_tag" {
  description = "clawbus image tag to run."
  type        = string
}

variable "architecture" {
  description = "CPU architecture of the image (x86_64 or arm64): the Lambdas' and the Fargate tasks'."
  type        = string
}

variable "ingress_function_name" {
  description = "Name of the ingress Lambda."
  type        = string
}

variable "egress_function_names" {
  description = "Egress Lambda name per channel."
  type        = map(string)
}

variable "ecs_log_groups" {
  description = "Log group name per ECS service (dispatcher, relay)."
  type        = map(string)
}

variable "state_bucket_name" {
  description = "State bucket (CLAWBUS_BUS__BUCKET)."
  type        = string
}

variable "channel_secret_arns" {
  description = "Secret ARN per channel."
  type        = map(string)
}

variable "egress_queue_arns" {
  description = "Egress queue ARN per channel."
  type        = map(string)
}

variable "inbound_queue_name" {
  description = "Inbound queue name (scaling metric)."
  type        = string
}

variable "agent_runtime_arn" {
  description = "AgentCore runtime the dispatcher invokes."
  type        = string
}

variable "agent_qualifier" {
  description = "Endpoint name the dispatcher invokes."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the ECS tasks."
  type        = list(string)
}

variable "vpc_id" {
  description = "VPC of the ECS tasks."
  type        = string
}

variable "assign_public_ip" {
  description = "Public IP for tasks."
  type        = bool
}

variable "create_ecs_service_linked_role" {
  description = "Create AWSServiceRoleForECS before the ECS services (see the root variable)."
  type        = bool
}

variable "roles" {
  description = "Role ARNs: ingress, dispatcher, relay, ecs_execution, and egress per channel."
  type = object({
    ingress       = string
    dispatcher    = string
    relay         = string
    ecs_execution = string
    egress        = map(string)
  })
}

variable "dispatcher" {
  description = "Dispatcher sizing and scaling (see the root variable)."
  type = object({
    cpu              = number
    memory           = number
    concurrency      = number
    min_tasks        = number
    max_tasks        = number
    backlog_per_task = number
  })
}

variable "channel_modes" {
  description = "Telegram and Slack modes (see the root variable)."
  type = object({
    telegram = string
    slack    = string
  })
}

variable "relay" {
  description = "Relay sizing (see the root variable)."
  type = object({
    enabled = bool
    cpu     = number
    memory  = number
  })
}

variable "lambda" {
  description = "Lambda sizing (see the root variable). The *_reserved_concurrency fields may be null: no reservation."
  type = object({
    ingress_memory_mb            = number
    ingress_timeout_s            = number
    ingress_reserved_concurrency = number
    egress_memory_mb             = number
    egress_timeout_s             = number
    egress_batch_size            = number
    egress_max_concurrency       = number
    egress_reserved_concurrency  = number
    ingress_handler              = string
    egress_handler               = string
  })
}

variable "tracing" {
  description = "Have the Lambdas and the ECS tasks sign their spans and post them to X-Ray's OTLP endpoint (CLAWBUS_TRACING__EXPORT=xray; see the root variable)."
  type        = bool
  default     = false
}
