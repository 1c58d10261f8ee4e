# One IAM role: a service may assume it, and it may do exactly `grants` on the ARNs `resources` names.
# A grant whose resource kind maps to an empty list is left out (e.g. the webchat table for the
# Telegram egress role); a kind missing from `resources` is an error, not a silent omission.

variable "name" {
  description = "Role name."
  type        = string
}

variable "service" {
  description = "Service principal allowed to assume the role (lambda.amazonaws.com, ecs-tasks.amazonaws.com, ...)."
  type        = string
}

variable "source_account" {
  description = "When set, the service may assume the role only on behalf of this account (confused-deputy guard)."
  type        = string
  default     = null
}

variable "grants" {
  description = "The role's grants from iam_actions.json: sid, resource kind, actions, source."
  type = list(object({
    sid      = string
    resource = string
    actions  = list(string)
    source   = string
  }))
}

variable "resources" {
  description = "ARNs per resource kind used by the grants."
  type        = map(list(string))

  validation {
    # tolist: var.resources holds lists, and a list never equals the tuple literal ["*"] (plan would fail).
    condition     = alltrue([for kind, arns in var.resources : kind != "any" || arns == tolist(["*"])])
    error_message = "Only the 'any' kind may be \"*\" (and it must be exactly [\"*\"])."
  }
}

variable "conditions" {
  description = "Extra conditions per grant sid."
  type = map(list(object({
    test     = string
    variable = string
    values   = list(string)
  })))
  default = {}
}

locals {
  grants = [for g in var.grants : g if length(var.resources[g.resource]) > 0]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [var.service]
    }
    dynamic "condition" {
      for_each = var.source_account == null ? [] : [var.source_account]
      content {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [condition.value]
      }
    }
  }
}

data "aws_iam_policy_document" "policy" {
  dynamic "statement" {
    for_each = local.grants
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = var.resources[statement.value.resource]
      dynamic "condition" {
        for_each = lookup(var.conditions, statement.value.sid, [])
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "this" {
  count = length(local.grants) > 0 ? 1 : 0

  name   = "${var.name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.policy.json
}

output "arn" {
  description = "Role ARN."
  value       = aws_iam_role.this.arn
}

output "arn_with_policy" {
  description = "Role ARN, known only once the role's policy exists: for a consumer that uses the role at creation (AgentCore pulls its image with it)."
  value       = aws_iam_role.this.arn
  depends_on  = [aws_iam_role_policy.this]
}

output "name" {
  description = "Role name."
  value       = aws_iam_role.this.name
}
