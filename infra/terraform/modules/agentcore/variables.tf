variable "prefix" {
  description = "Resource name prefix."
  type        = string
}

variable "repository_name" {
  description = "ECR repository name for the agent image."
  type        = string
}

variable "image_tag" {
  description = "Agent image tag to run."
  type        = string
}

variable "role_arn" {
  description = "Execution role of the runtime."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the image repository."
  type        = string
}

variable "state_bucket_name" {
  description = "The state bucket (CLAWBUS_BUS__BUCKET): the agent's workspace lives in it."
  type        = string
}

variable "model" {
  description = "CLAWBUS_AGENT__MODEL inside the container."
  type        = string
}

variable "engine" {
  description = "CLAWBUS_AGENT__ENGINE inside the container: openclaw or native."
  type        = string

  validation {
    condition     = contains(["openclaw", "native"], var.engine)
    error_message = "engine must be \"openclaw\" or \"native\"."
  }
}

variable "idle_session_timeout" {
  description = "Idle session timeout (seconds)."
  type        = number
}

variable "scheduler_role_arn" {
  description = "Role EventBridge Scheduler assumes for cron schedules (passed by the cron tool)."
  type        = string
}

variable "scheduler_dlq_arn" {
  description = "The scheduler's STANDARD dead-letter queue."
  type        = string
}

variable "tracing" {
  description = "Export the agent's spans to X-Ray's OTLP endpoint (CLAWBUS_TRACING__EXPORT=xray)."
  type        = bool
  default     = false
}
