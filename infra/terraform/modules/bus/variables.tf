variable "prefix" {
  description = "Resource name prefix."
  type        = string
}

variable "channels" {
  description = "Enabled channels (one egress queue, DLQ and subscription each)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key encrypting queues and the topic."
  type        = string
}
