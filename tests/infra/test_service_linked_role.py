"""A new account may lack the ECS service-linked role: Terraform can create it, and the doc says how to check.

Creating it fails when it already exists, so it is opt-in (`create_ecs_service_linked_role`), every ECS
service waits for it, and docs/deploy.md's prerequisites show the command that tells which case applies.
"""

from __future__ import annotations

from tests.infra._hcl import TERRAFORM, Module, unquote

DEPLOY_MD = TERRAFORM.parents[1] / "docs" / "deploy.md"


def test_the_ecs_service_linked_role_is_declared_opt_in_and_the_services_wait_for_it(
    tf: dict[str, Module],
) -> None:
    root, compute = tf["root"], tf["compute"]
    assert unquote(root.variables["create_ecs_service_linked_role"]["default"]) is False
    passed = root.modules["compute"]["create_ecs_service_linked_role"]
    assert passed == "${var.create_ecs_service_linked_role}"
    role = compute.resources["aws_iam_service_linked_role"]["ecs"]
    assert unquote(role["aws_service_name"]) == "ecs.amazonaws.com"
    assert role["count"] == "${var.create_ecs_service_linked_role ? 1 : 0}"
    for name, service in compute.resources["aws_ecs_service"].items():
        assert "aws_iam_service_linked_role.ecs" in str(service.get("depends_on")), name


def test_deploy_md_says_how_to_tell_whether_the_role_exists() -> None:
    text = DEPLOY_MD.read_text("utf-8")
    assert "aws iam get-role --role-name AWSServiceRoleForECS" in text
    assert "create_ecs_service_linked_role = true" in text
