output "inbound_queue_arn" {
  description = "ARN of <prefix>-inbound.fifo."
  value       = aws_sqs_queue.inbound.arn
}

output "inbound_queue_url" {
  description = "URL of <prefix>-inbound.fifo."
  value       = aws_sqs_queue.inbound.id
}

output "inbound_queue_name" {
  description = "Name of the inbound queue."
  value       = aws_sqs_queue.inbound.name
}

output "inbound_dlq_arn" {
  description = "ARN of <prefix>-inbound-dlq.fifo."
  value       = aws_sqs_queue.inbound_dlq.arn
}

output "outbound_topic_arn" {
  description = "ARN of <prefix>-outbound.fifo."
  value       = aws_sns_topic.outbound.arn
}

output "egress_queue_arns" {
  description = "Egress queue ARN per channel."
  value       = { for c, q in aws_sqs_queue.egress : c => q.arn }
}

output "egress_dlq_arns" {
  description = "Egress DLQ ARN per channel."
  value       = { for c, q in aws_sqs_queue.egress_dlq : c => q.arn }
}

output "queue_urls" {
  description = "URL of every bus queue, by name."
  value = merge(
    { (aws_sqs_queue.inbound.name) = aws_sqs_queue.inbound.id, (aws_sqs_queue.inbound_dlq.name) = aws_sqs_queue.inbound_dlq.id },
    { for q in aws_sqs_queue.egress : q.name => q.id },
    { for q in aws_sqs_queue.egress_dlq : q.name => q.id },
  )
}

output "queue_names" {
  description = "Main (non-DLQ) queue names by short key: inbound, egress-<channel>."
  value = merge(
    { inbound = aws_sqs_queue.inbound.name },
    { for c, q in aws_sqs_queue.egress : "egress-${c}" => q.name },
  )
}

output "dlq_names" {
  description = "DLQ names by the same short keys as queue_names."
  value = merge(
    { inbound = aws_sqs_queue.inbound_dlq.name },
    { for c, q in aws_sqs_queue.egress_dlq : "egress-${c}" => q.name },
  )
}
