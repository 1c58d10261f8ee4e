# Heartbeats: one EventBridge Scheduler schedule per agent sends a heartbeat event straight to the
# inbound FIFO queue, in the agent's main session group. The event id carries the scheduled time, so
# each firing is a new event (content-based dedup on the inbound queue covers the scheduler's retries).
# Undeliverable events go to a STANDARD queue: Scheduler does not accept a FIFO dead-letter queue.
# Each agent's schedule, time zone and state are its own `heartbeats` entry over the shared defaults; with
# any entry, only those agents beat (OpenClaw's per-agent heartbeat rule), else every agent of agent_ids.

locals {
  heartbeat_agents = length(var.heartbeats) > 0 ? keys(var.heartbeats) : var.agent_ids
  heartbeat = {
    for id in local.heartbeat_agents : id => {
      expression = coalesce(try(var.heartbeats[id].schedule, null), var.expression)
      timezone   = coalesce(try(var.heartbeats[id].timezone, null), var.timezone)
      enabled    = coalesce(try(var.heartbeats[id].enabled, null), var.enabled)
    }
  }
}

resource "aws_scheduler_schedule_group" "this" {
  name = var.prefix
}

resource "aws_sqs_queue" "scheduler_dlq" {
  name                              = "${var.prefix}-scheduler-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_scheduler_schedule" "heartbeat" {
  for_each = local.heartbeat

  name                         = "${var.prefix}-heartbeat-${each.key}"
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = "heartbeat of agent ${each.key} into agent:${each.key}:main"
  schedule_expression          = each.value.expression
  schedule_expression_timezone = each.value.timezone
  state                        = each.value.enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.inbound_queue_arn
    role_arn = var.role_arn
    input    = templatefile("${path.module}/heartbeat_event.json.tftpl", { agent_id = each.key })

    sqs_parameters {
      # schemas.ids.message_group_id(main_session_key(agent)): the key itself (short, SQS-safe).
      message_group_id = "agent:${each.key}:main"
    }

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 10
    }

    dead_letter_config {
      arn = aws_sqs_queue.scheduler_dlq.arn
    }
  }
}
