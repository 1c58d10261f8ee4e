#!/usr/bin/env bash
# Build and push both clawbus images for the platforms AWS runs them on, then print what was pushed.
#
#   app    infra/docker/app.Dockerfile   -> <prefix>-app:<app_image_tag>    (Lambdas and ECS tasks)
#          platform from `app_architecture` (x86_64 -> linux/amd64, arm64 -> linux/arm64), read from
#          infra/terraform/terraform.tfvars, else the variable's default in infra/terraform/variables.tf,
#          so the image always matches the architecture Terraform gives the Lambdas and Fargate tasks.
#   agent  infra/docker/agent.Dockerfile -> <prefix>-agent:<agent_image_tag>  (AgentCore Runtime: linux/arm64)
#          with both engines: Python, and Node 24 + the pinned OpenClaw (the install line is printed first)
#
# Tags come from terraform.tfvars (app_image_tag, agent_image_tag) and repository URLs from
# `terraform output` unless given. Every build uses --provenance=false: Lambda rejects an image index
# with attestation manifests.
#
# Usage: infra/docker/build.sh [--dry-run] [--only app|agent] [--tfvars FILE]
#                              [--app-repo URL] [--agent-repo URL] [--app-tag TAG] [--agent-tag TAG]
# --dry-run prints the commands instead of running them (no Docker, AWS or Terraform needed then when
# the repositories are given).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tf_dir="$root/infra/terraform"
tfvars="$tf_dir/terraform.tfvars"
dry_run=0 only="" app_repo="" agent_repo="" app_tag="" agent_tag=""

die() { echo "build.sh: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --only) only=${2:?--only needs app or agent}; shift ;;
    --tfvars) tfvars=${2:?--tfvars needs a file}; shift ;;
    --app-repo) app_repo=${2:?}; shift ;;
    --agent-repo) agent_repo=${2:?}; shift ;;
    --app-tag) app_tag=${2:?}; shift ;;
    --agent-tag) agent_tag=${2:?}; shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[[ -z "$only" || "$only" == app || "$only" == agent ]] || die "--only takes app or agent"

# `name = "value"` from the tfvars file, if it sets it.
tfvar() { [[ -f "$tfvars" ]] || return 0; sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$tfvars" | tail -n1; }
# The default of `variable "name"` in variables.tf.
tfdefault() {
  awk -v name="$1" '$0 ~ "^variable \"" name "\"" {inside=1} inside && /^}/ {inside=0}
    inside && $1 == "default" {gsub(/"/, "", $3); print $3; exit}' "$tf_dir/variables.tf"
}

arch=$(tfvar app_architecture); arch=${arch:-$(tfdefault app_architecture)}
case "$arch" in
  x86_64) app_platform=linux/amd64 ;;
  arm64) app_platform=linux/arm64 ;;
  *) die "app_architecture is '$arch'; it must be x86_64 or arm64" ;;
esac
agent_platform=linux/arm64 # AgentCore Runtime runs arm64 only

app_tag=${app_tag:-$(tfvar app_image_tag)}
agent_tag=${agent_tag:-$(tfvar agent_image_tag)}
agent_tag=${agent_tag:-$(tfdefault agent_image_tag)}
output() { terraform -chdir="$tf_dir" output -raw "$1" 2>/dev/null || true; }
[[ -n "$app_repo" || "$only" == agent ]] || app_repo=$(output app_repository_url)
[[ -n "$agent_repo" || "$only" == app ]] || agent_repo=$(output agent_repository_url)

run() {
  if ((dry_run)); then printf '%q ' "$@"; echo; else "$@"; fi
}

metadata_dir=$(mktemp -d)
trap 'rm -rf "$metadata_dir"' EXIT

# build NAME DOCKERFILE PLATFORM REPO TAG
build() {
  local name=$1 dockerfile=$2 platform=$3 repo=$4 tag=$5
  [[ -n "$repo" ]] || die "no $name repository: apply the repositories first (docs/deploy.md step 2) or pass --$name-repo"
  [[ -n "$tag" ]] || die "no $name tag: set ${name}_image_tag in $tfvars or pass --$name-tag"
  run docker buildx build --platform "$platform" --provenance=false \
    -f "$root/$dockerfile" -t "$repo:$tag" --metadata-file "$metadata_dir/$name.json" --push "$root"
  if ((dry_run)); then
    echo "would push $repo:$tag ($platform)"
  else
    local digest
    digest=$(sed -n 's/.*"containerimage.digest"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$metadata_dir/$name.json")
    echo "pushed $repo:$tag ($platform) $digest"
  fi
}

login() {
  local registry=${1%%/*} region
  region=$(echo "$registry" | sed -n 's/^[0-9]*\.dkr\.ecr\.\([a-z0-9-]*\)\.amazonaws\.com.*/\1/p')
  [[ -n "$registry" ]] || return 0
  if ((dry_run)); then
    echo "aws ecr get-login-password --region ${region:-<region>} | docker login --username AWS --password-stdin $registry"
  else
    aws ecr get-login-password --region "${region:-${AWS_REGION:-us-east-1}}" |
      docker login --username AWS --password-stdin "$registry" >/dev/null
  fi
}

if [[ "$only" != agent ]]; then
  login "$app_repo"
  build app infra/docker/app.Dockerfile "$app_platform" "$app_repo" "$app_tag"
fi
if [[ "$only" != app ]]; then
  # The agent image's `openclaw` stage runs this install (Node 24 + the pinned OpenClaw), printed by the
  # pins' one place, agent/engines/openclaw/install_layout.py, exactly as the stage prints it.
  openclaw_install=$(python3 "$root/agent/engines/openclaw/install_layout.py" /opt/openclaw) ||
    openclaw_install="(python3 not found: see agent/engines/openclaw/install_layout.py)"
  echo "# agent image, OpenClaw engine: $openclaw_install"
  login "$agent_repo"
  build agent infra/docker/agent.Dockerfile "$agent_platform" "$agent_repo" "$agent_tag"
fi
