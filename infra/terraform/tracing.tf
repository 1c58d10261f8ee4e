# CloudWatch Transaction Search, which X-Ray's OTLP endpoint needs before it accepts a span: with
# tracing = true the Lambdas and the agent post their spans to https://xray.<region>.amazonaws.com/v1/traces
# (CLAWBUS_TRACING__EXPORT=xray, bus/xray_otlp.py), and X-Ray stores them as structured logs in the
# `aws/spans` log group, which it may write only under this resource policy.
#
# Transaction Search is one switch per account and region, not per deployment: the destination resource
# adopts it (applying it again is a no-op, and destroying it leaves it on). Set transaction_search = false
# when the account already has it on or another stack manages it. X-Ray indexes 1% of spans as trace
# summaries by default (free); every span stays searchable in Transaction Search regardless
# (docs/operations.md "Traces").

locals {
  transaction_search = var.tracing && var.transaction_search
}

data "aws_iam_policy_document" "transaction_search" {
  count = local.transaction_search ? 1 : 0

  statement {
    sid     = "TransactionSearchXRayAccess"
    actions = ["logs:PutLogEvents"]
    resources = [
      "${local.log_group_arn_prefix}aws/spans:*",
      "${local.log_group_arn_prefix}/aws/application-signals/data:*",
    ]

    principals {
      type        = "Service"
      identifiers = ["xray.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:xray:${local.arn_tail}:*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "transaction_search" {
  count = local.transaction_search ? 1 : 0

  policy_name     = "${var.prefix}-transaction-search"
  policy_document = data.aws_iam_policy_document.transaction_search[0].json
}

resource "aws_xray_trace_segment_destination" "transaction_search" {
  count = local.transaction_search ? 1 : 0

  destination = "CloudWatchLogs"

  depends_on = [aws_cloudwatch_log_resource_policy.transaction_search]
}
