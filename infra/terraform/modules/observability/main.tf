# What operators watch: one dashboard per deployment and alarms to an SNS topic.
# Stage metrics come from the JSON log lines' stable `event` names (STYLE.md §6) through metric filters:
#   dispatcher.turn.completed (turns, duration_ms), dispatcher.message.dead_lettered / .retry_later,
#   egress.send.completed (sends), egress.send.throttled (429s from a platform), egress.send.unknown_resent
#   (an interrupted send posted again unchecked: the user may see that chunk twice).

locals {
  namespace = "clawbus/${var.prefix}"

  # name => [log group key, filter pattern, metric value]
  log_metrics = merge(
    {
      DispatcherTurns       = ["dispatcher", "{ $.event = \"dispatcher.turn.completed\" }", "1"]
      DispatcherTurnLatency = ["dispatcher", "{ $.event = \"dispatcher.turn.completed\" }", "$.duration_ms"]
      DispatcherErrors      = ["dispatcher", "{ $.event = \"dispatcher.message.dead_lettered\" }", "1"]
      DispatcherRetries     = ["dispatcher", "{ $.event = \"dispatcher.message.retry_later\" }", "1"]
    },
    { for c in var.channels : "EgressSends-${c}" => ["egress-${c}", "{ $.event = \"egress.send.completed\" }", "1"] },
    { for c in var.channels : "EgressThrottled-${c}" => ["egress-${c}", "{ $.event = \"egress.send.throttled\" }", "1"] },
    # A chunk whose send was interrupted and that the platform could not vouch for, posted again (issue 22).
    { for c in var.channels : "EgressUnknownResent-${c}" => ["egress-${c}", "{ $.event = \"egress.send.unknown_resent\" }", "1"] },
  )

  queue_widgets = [for key, name in var.queue_names : {
    type   = "metric"
    width  = 12
    height = 6
    properties = {
      title  = "${key}: depth, oldest age, DLQ depth"
      region = var.region
      stat   = "Maximum"
      period = 60
      metrics = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name],
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", name, { yAxis = "right" }],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.dlq_names[key], { label = "DLQ depth" }],
      ]
    }
  }]

  stage_widgets = [
    {
      type = "metric", width = 12, height = 6
      properties = {
        title = "dispatcher: turns, errors, retries", region = var.region, stat = "Sum", period = 60
        metrics = [
          [local.namespace, "DispatcherTurns"],
          [local.namespace, "DispatcherErrors"],
          [local.namespace, "DispatcherRetries"],
        ]
      }
    },
    {
      type = "metric", width = 12, height = 6
      properties = {
        title = "dispatcher: turn latency (ms)", region = var.region, period = 60
        metrics = [
          [local.namespace, "DispatcherTurnLatency", { stat = "p50" }],
          [local.namespace, "DispatcherTurnLatency", { stat = "p95" }],
        ]
      }
    },
    {
      type = "metric", width = 12, height = 6
      properties = {
        title = "egress: sends and 429s per channel", region = var.region, stat = "Sum", period = 60
        metrics = concat(
          [for c in var.channels : [local.namespace, "EgressSends-${c}"]],
          [for c in var.channels : [local.namespace, "EgressThrottled-${c}"]],
        )
      }
    },
    {
      type = "metric", width = 12, height = 6
      properties = {
        title = "Lambda errors and throttles", region = var.region, stat = "Sum", period = 60
        metrics = concat(
          [for k, fn in var.lambda_function_names : ["AWS/Lambda", "Errors", "FunctionName", fn]],
          [for k, fn in var.lambda_function_names : ["AWS/Lambda", "Throttles", "FunctionName", fn]],
        )
      }
    },
    {
      type = "metric", width = 12, height = 6
      properties = {
        title = "webhooks: requests, 4xx, 5xx", region = var.region, stat = "Sum", period = 60
        metrics = [
          ["AWS/ApiGateway", "Count", "ApiId", var.api_id],
          ["AWS/ApiGateway", "4xx", "ApiId", var.api_id],
          ["AWS/ApiGateway", "5xx", "ApiId", var.api_id],
        ]
      }
    },
    {
      type = "metric", width = 12, height = 6
      properties = {
        title = "dispatcher tasks", region = var.region, stat = "Average", period = 60
        metrics = [
          ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.ecs_cluster_name, "ServiceName", "${var.prefix}-dispatcher"],
        ]
      }
    },
  ]
}

resource "aws_cloudwatch_log_metric_filter" "stage" {
  for_each = local.log_metrics

  name           = "${var.prefix}-${each.key}"
  log_group_name = var.log_groups[each.value[0]]
  pattern        = each.value[1]

  metric_transformation {
    name      = each.key
    namespace = local.namespace
    value     = each.value[2]
    unit      = each.key == "DispatcherTurnLatency" ? "Milliseconds" : "Count"
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.prefix
  dashboard_body = jsonencode({ widgets = concat(local.queue_widgets, local.stage_widgets) })
}

# ---- alarms -----------------------------------------------------------------------------------------

resource "aws_sns_topic" "alarms" {
  name              = "${var.prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarms.email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarms.email
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each = var.dlq_names

  alarm_name          = "${var.prefix}-${each.key}-dlq-not-empty"
  alarm_description   = "${each.value} holds dead letters: read them with 'clawbus dlq list', fix, then replay (docs/deploy.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  for_each = var.queue_names

  alarm_name          = "${var.prefix}-${each.key}-oldest-message"
  alarm_description   = "A message has waited more than ${var.alarms.oldest_message_age_s}s on ${each.value}: its consumer is down, stuck or too small."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = var.alarms.oldest_message_age_s
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = var.lambda_function_names

  alarm_name          = "${var.prefix}-${each.key}-lambda-errors"
  alarm_description   = "${each.value} failed more than ${var.alarms.lambda_errors_per_5min} times in 5 minutes."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.alarms.lambda_errors_per_5min
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "dispatcher_errors" {
  alarm_name          = "${var.prefix}-dispatcher-errors"
  alarm_description   = "The dispatcher dead-lettered more than ${var.alarms.dispatcher_errors_5min} turns in 5 minutes."
  namespace           = local.namespace
  metric_name         = "DispatcherErrors"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.alarms.dispatcher_errors_5min
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]

  depends_on = [aws_cloudwatch_log_metric_filter.stage]
}

resource "aws_cloudwatch_metric_alarm" "egress_throttled" {
  for_each = toset(var.channels)

  alarm_name          = "${var.prefix}-egress-${each.key}-throttled"
  alarm_description   = "${each.key} answered 429 more than ${var.alarms.egress_throttled_5min} times in 5 minutes."
  namespace           = local.namespace
  metric_name         = "EgressThrottled-${each.key}"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.alarms.egress_throttled_5min
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]

  depends_on = [aws_cloudwatch_log_metric_filter.stage]
}
