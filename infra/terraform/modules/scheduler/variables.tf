variable "prefix" {
  description = "Resource name prefix."
  type        = string
}

variable "agent_ids" {
  description = "Agents with a heartbeat."
  type        = list(string)
}

variable "heartbeats" {
  description = "Per-agent overrides of expression/timezone/enabled; non-empty: only these agents beat."
  type = map(object({
    schedule = optional(string)
    timezone = optional(string)
    enabled  = optional(bool)
  }))
  default = {}
}

variable "inbound_queue_arn" {
  description = "Target: the inbound FIFO queue."
  type        = string
}

variable "role_arn" {
  description = "Role the scheduler assumes to send."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the scheduler DLQ."
  type        = string
}

variable "expression" {
  description = "Schedule expression."
  type        = string
}

variable "timezone" {
  description = "Schedule time zone."
  type        = string
}

variable "enabled" {
  description = "Whether schedules are enabled."
  type        = bool
}
