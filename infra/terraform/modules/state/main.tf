# Where state lives: DynamoDB tables (as bus/topology.py names them), the S3 state bucket, one Secrets
# Manager secret per channel and the SSM config parameter. Secret and parameter VALUES are the
# operator's: Terraform creates the containers only, so no token ever lands in a state file.

locals {
  # Mirrors bus/topology.py (LEDGER_TTL_ATTRIBUTE and the tables' keys; every key is a string).
  ledger_ttl_attribute = "expires_at"
}

resource "aws_dynamodb_table" "ledger" {
  name         = "${var.prefix}-ledger"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  # Dedup and idempotency records expire (>= 7 days after writing; the code also checks the attribute).
  ttl {
    attribute_name = local.ledger_ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection
}

resource "aws_dynamodb_table" "webchat" {
  name         = "${var.prefix}-webchat"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "conversation"
  range_key    = "seq"

  attribute {
    name = "conversation"
    type = "S"
  }

  attribute {
    name = "seq"
    type = "S"
  }

  # Delivered WebChat replies are kept 30 days (egress writes expires_at).
  ttl {
    attribute_name = local.ledger_ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection
}

resource "aws_dynamodb_table" "pairing" {
  name         = "${var.prefix}-pairing"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  # `/link` codes and attempt counters expire (storage/identity_links.py); pairing items carry no TTL.
  ttl {
    attribute_name = local.ledger_ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection
}

# Cron jobs, their run history and the local firer's ledger (storage/cron/records.py: pk/sk strings).
resource "aws_dynamodb_table" "cron" {
  name         = "${var.prefix}-cron"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  # Run history expires (30 days); job records carry no expiry.
  ttl {
    attribute_name = local.ledger_ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection
}

# The session index and transcript batches (storage/sessions.py, transcripts_dynamodb.py: pk/sk
# strings), and turn journals (storage/turn_journal.py). Transcripts and the index are kept (they carry
# no TTL attribute); a turn journal's steps expire 21 days after they are written.
resource "aws_dynamodb_table" "sessions" {
  name         = "${var.prefix}-sessions"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  ttl {
    attribute_name = local.ledger_ttl_attribute
    enabled        = true
  }

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection
}

# ---- the state bucket ------------------------------------------------------------------------------

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a second bucket per deployment; CloudTrail data events cover audits where required.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice left to the operator; versioning + PITR cover mistakes.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events; the code reads keys it was handed on the bus.
  bucket = var.bucket_name
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "old-versions-and-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "media-expiry"
    status = "Enabled"
    filter {
      prefix = "media/"
    }
    expiration {
      days = var.media_expiry_days
    }
  }
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid     = "TlsOnly"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}

# ---- secrets and config ------------------------------------------------------------------------------

resource "aws_secretsmanager_secret" "channel" {
  #checkov:skip=CKV2_AWS_57:Bot tokens and signing secrets are issued by the chat platforms; they are rotated there, then put here (docs/deploy.md).
  for_each = toset(var.channels)

  name                    = "${var.prefix}/channels/${each.key}"
  description             = "clawbus ${each.key} credentials: a JSON object of CLAWBUS_${upper(each.key)}__* variables (set by the operator)."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret" "model_credentials" {
  #checkov:skip=CKV2_AWS_57:Model API keys are issued by the providers; they are rotated there, then put here (clawbus state import, docs/deploy.md).
  name                    = "${var.prefix}/agent/model-credentials"
  description             = "clawbus OpenClaw engine: model-provider keys as environment names (ANTHROPIC_API_KEY, ...), set by clawbus state import or the operator."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_ssm_parameter" "config" {
  name        = "/${var.prefix}/config"
  description = "clawbus deployment config (JSON); the operator owns the value after the first apply."
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = "{}"

  # clawbus writes the value, the tier (Advanced above 4 KB) and each version's description (the version it
  # was based on, storage/config.py); Terraform must not put them back or replace the parameter.
  lifecycle {
    ignore_changes = [value, tier, description]
  }
}
