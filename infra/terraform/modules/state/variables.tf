variable "prefix" {
  description = "Resource name prefix."
  type        = string
}

variable "channels" {
  description = "Enabled channels (one secret each)."
  type        = list(string)
}

variable "bucket_name" {
  description = "State bucket name (globally unique)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for tables, bucket, secrets and the parameter."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the tables from deletion."
  type        = bool
  default     = true
}

variable "noncurrent_version_days" {
  description = "Days to keep non-current object versions in the state bucket."
  type        = number
  default     = 90
}

variable "media_expiry_days" {
  description = "Days users' files (media/*) stay in the state bucket before its lifecycle rule expires them (issue 20)."
  type        = number
  default     = 30
}
