variable "prefix" {
  description = "Resource name prefix (also the dashboard name)."
  type        = string
}

variable "region" {
  description = "Region of the metrics."
  type        = string
}

variable "channels" {
  description = "Enabled channels."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for the alarm topic."
  type        = string
}

variable "alarms" {
  description = "Alarm thresholds and optional email (see the root variable)."
  type = object({
    email                  = optional(string)
    oldest_message_age_s   = number
    lambda_errors_per_5min = number
    dispatcher_errors_5min = number
    egress_throttled_5min  = number
  })
}

variable "queue_names" {
  description = "Main queue names by short key (inbound, egress-<channel>)."
  type        = map(string)
}

variable "dlq_names" {
  description = "DLQ names by short key (the queue_names keys, plus scheduler)."
  type        = map(string)
}

variable "lambda_function_names" {
  description = "Lambda function names by short key."
  type        = map(string)
}

variable "log_groups" {
  description = "Log group names by key: dispatcher, relay, egress-<channel>."
  type        = map(string)
}

variable "ecs_cluster_name" {
  description = "ECS cluster of the dispatcher."
  type        = string
}

variable "api_id" {
  description = "HTTP API id."
  type        = string
}
