# The message bus, as bus/topology.py describes it (tests/infra/test_topology_drift.py compares the two):
#   <prefix>-inbound.fifo (+ -dlq.fifo)          content-based dedup: the scheduler sends no dedup id
#   <prefix>-outbound.fifo (SNS FIFO topic)      attribute `channel` picks the subscription
#   <prefix>-egress-<channel>.fifo (+ -dlq.fifo) one per enabled channel, raw delivery, filter policy
# Every FIFO queue uses high-throughput mode (dedup per group, throughput per group).

locals {
  # Mirrors bus/topology.py: INBOUND_VISIBILITY_S, EGRESS_VISIBILITY_S, RETENTION_S, DLQ_RETENTION_S,
  # DLQ_MAX_RECEIVE_COUNT. The dispatcher extends a running turn's visibility every 20 s (a third of 60).
  inbound_visibility_timeout_s = 60
  egress_visibility_timeout_s  = 60
  retention_s                  = 345600
  dlq_retention_s              = 1209600
  dlq_visibility_timeout_s     = 30
  max_receive_count            = 5
  kms_data_key_reuse_s         = 300
}

# ---- inbound ---------------------------------------------------------------------------------------

resource "aws_sqs_queue" "inbound_dlq" {
  name                              = "${var.prefix}-inbound-dlq.fifo"
  fifo_queue                        = true
  content_based_deduplication       = false
  deduplication_scope               = "messageGroup"
  fifo_throughput_limit             = "perMessageGroupId"
  visibility_timeout_seconds        = local.dlq_visibility_timeout_s
  message_retention_seconds         = local.dlq_retention_s
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_s
}

resource "aws_sqs_queue" "inbound" {
  name                              = "${var.prefix}-inbound.fifo"
  fifo_queue                        = true
  content_based_deduplication       = true
  deduplication_scope               = "messageGroup"
  fifo_throughput_limit             = "perMessageGroupId"
  visibility_timeout_seconds        = local.inbound_visibility_timeout_s
  message_retention_seconds         = local.retention_s
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_s
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.inbound_dlq.arn
    maxReceiveCount     = local.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "inbound_dlq" {
  queue_url = aws_sqs_queue.inbound_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.inbound.arn]
  })
}

# ---- outbound topic and one egress queue per channel ------------------------------------------------

resource "aws_sns_topic" "outbound" {
  name                        = "${var.prefix}-outbound.fifo"
  fifo_topic                  = true
  content_based_deduplication = false
  kms_master_key_id           = var.kms_key_arn
}

resource "aws_sqs_queue" "egress_dlq" {
  for_each = toset(var.channels)

  name                              = "${var.prefix}-egress-${each.key}-dlq.fifo"
  fifo_queue                        = true
  content_based_deduplication       = false
  deduplication_scope               = "messageGroup"
  fifo_throughput_limit             = "perMessageGroupId"
  visibility_timeout_seconds        = local.dlq_visibility_timeout_s
  message_retention_seconds         = local.dlq_retention_s
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_s
}

resource "aws_sqs_queue" "egress" {
  for_each = toset(var.channels)

  name                              = "${var.prefix}-egress-${each.key}.fifo"
  fifo_queue                        = true
  content_based_deduplication       = false
  deduplication_scope               = "messageGroup"
  fifo_throughput_limit             = "perMessageGroupId"
  visibility_timeout_seconds        = local.egress_visibility_timeout_s
  message_retention_seconds         = local.retention_s
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_s
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.egress_dlq[each.key].arn
    maxReceiveCount     = local.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "egress_dlq" {
  for_each = toset(var.channels)

  queue_url = aws_sqs_queue.egress_dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.egress[each.key].arn]
  })
}

data "aws_iam_policy_document" "topic_may_send" {
  for_each = toset(var.channels)

  statement {
    sid       = "OutboundTopic"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.egress[each.key].arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.outbound.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "egress" {
  for_each = toset(var.channels)

  queue_url = aws_sqs_queue.egress[each.key].id
  policy    = data.aws_iam_policy_document.topic_may_send[each.key].json
}

resource "aws_sns_topic_subscription" "egress" {
  for_each = toset(var.channels)

  topic_arn            = aws_sns_topic.outbound.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.egress[each.key].arn
  raw_message_delivery = true
  filter_policy_scope  = "MessageAttributes"
  filter_policy        = jsonencode({ channel = [each.key] })

  depends_on = [aws_sqs_queue_policy.egress]
}
