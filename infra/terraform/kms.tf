# One customer-managed key for the deployment: queues, topics, tables, bucket, secrets, logs, images.
# Services that write encrypted data on our behalf (SNS into the egress queues, CloudWatch into the
# alarm topic, CloudWatch Logs) need it in the key policy; roles get kms:Decrypt/GenerateDataKey in iam.tf.

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key; administration stays with the account root.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key; writes are limited to the principals below.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key, not every resource.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "ServicesEncryptForThisAccount"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["${local.log_group_arn_prefix}*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "clawbus ${var.prefix}: bus, state and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.prefix}"
  target_key_id = aws_kms_key.this.key_id
}
