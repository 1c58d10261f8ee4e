terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # aws_bedrockagentcore_agent_runtime and _endpoint arrived in the 6.x line.
      version = ">= 6.18.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Application = "clawbus", Deployment = var.prefix }, var.tags)
  }
}
