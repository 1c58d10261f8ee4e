terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # aws_bedrockagentcore_agent_runtime and _endpoint arrived in the 6.x line; tracing.tf's
      # aws_xray_trace_segment_destination is in 6.47.0's documented schema.
      version = ">= 6.47.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Application = "clawbus", Deployment = var.prefix }, var.tags)
  }
}
