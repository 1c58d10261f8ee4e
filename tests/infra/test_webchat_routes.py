"""WebChat is not published on API Gateway unless an authorizer protects it; the webhooks stay public.

The static tests read the HCL: every route resource either carries an authorization (JWT with an
authorizer, or AWS_IAM) or serves only webhook routes (verified in code by platform signatures) and
/healthz. The evaluated tests run the routing locals through `terraform console` (no providers
needed; skipped without the terraform binary) for each value of `webchat_authorizer`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra._hcl import TERRAFORM, Module

WEBCHAT_ROUTES = {"GET /", "ANY /webchat/{proxy+}"}
_ROUTE_KEY = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) /[^\"'\s,\]\)]*")
_LOCAL = re.compile(r"\blocal\.([a-zA-Z_][a-zA-Z0-9_]*)")


def is_webchat(key: str) -> bool:
    path = key.split(" ", 1)[1]
    return path == "/" or path.startswith(("/webchat", "/dashboard"))


def is_webhook(key: str) -> bool:
    return key == "GET /healthz" or key.split(" ", 1)[1].startswith("/webhooks/")


def _locals_used(module: Module, expression: Any, seen: set[str] | None = None) -> set[str]:
    """The locals an expression references, and theirs, transitively."""
    seen = set() if seen is None else seen
    for name in _LOCAL.findall(str(expression)):
        if name not in seen and name in module.locals:
            seen.add(name)
            _locals_used(module, module.locals[name], seen)
    return seen


def route_keys(module: Module, expression: Any) -> set[str]:
    """Every route key a `for_each` can produce (the literals in it and in the locals it uses)."""
    text = str(expression) + "".join(str(module.locals[name]) for name in _locals_used(module, expression))
    return set(_ROUTE_KEY.findall(text))


def routes(tf: dict[str, Module]) -> list[tuple[str, Module, str, dict[str, Any]]]:
    return [
        (module_name, module, name, body)
        for module_name, module in tf.items()
        for name, body in module.resources.get("aws_apigatewayv2_route", {}).items()
    ]


def test_no_webchat_route_is_public(tf: dict[str, Module]) -> None:
    assert routes(tf), "expected the HTTP API's routes"
    for module_name, module, name, body in routes(tf):
        if module.resolve(body.get("authorization_type", "NONE")) != "NONE":
            continue
        keys = route_keys(module, body["for_each"])
        exposed = sorted(key for key in keys if not is_webhook(key))
        assert not exposed, f"{module_name}.aws_apigatewayv2_route.{name} publishes {exposed} without auth"


def test_webchat_routes_exist_only_behind_an_authorizer_the_variable_turns_on(tf: dict[str, Module]) -> None:
    compute = tf["compute"]
    covered: dict[str, set[str]] = {}
    for _m, module, name, body in routes(tf):
        keys = route_keys(module, body["for_each"])
        if not any(is_webchat(key) for key in keys):
            continue
        kind = module.resolve(body.get("authorization_type"))
        assert kind in ("JWT", "AWS_IAM"), f"route {name} serves WebChat with authorization {kind!r}"
        gate = "".join(str(module.locals[n]) for n in _locals_used(module, body["for_each"]))
        assert "var.webchat_authorizer" in gate, f"route {name} is not gated on var.webchat_authorizer"
        assert ('"jwt"' if kind == "JWT" else '"iam"') in gate, f"route {name} is gated on the wrong type"
        if kind == "JWT":
            authorizer = re.fullmatch(
                r"\$\{aws_apigatewayv2_authorizer\.(\w+)\[0\]\.id\}", body["authorizer_id"]
            )
            assert authorizer, f"JWT route {name} has no authorizer_id"
            config = compute.resources["aws_apigatewayv2_authorizer"][authorizer.group(1)]
            assert compute.resolve(config["authorizer_type"]) == "JWT"
            assert config["identity_sources"] == ['"$request.header.Authorization"']
            (jwt,) = config["jwt_configuration"]
            assert "issuer" in jwt["issuer"]
            assert "audience" in jwt["audience"]
        covered.setdefault(kind, set()).update(keys)
    assert covered.get("JWT") == WEBCHAT_ROUTES
    assert covered.get("AWS_IAM") == WEBCHAT_ROUTES


def test_the_webchat_authorizer_is_off_by_default_and_reaches_the_api(tf: dict[str, Module]) -> None:
    root = tf["root"]
    variable = root.variables["webchat_authorizer"]
    assert variable["default"] is None
    assert len(variable["validation"]) == 2
    assert root.modules["compute"]["webchat_authorizer"] == "${var.webchat_authorizer}"
    assert "module.compute.webchat_published ?" in root.outputs["webhook_urls"]["value"]
    assert "# webchat_authorizer" in (TERRAFORM / "terraform.tfvars.example").read_text("utf-8")


# --- evaluated: the same locals through terraform console -------------------------------------------------


def _block(text: str, header: str) -> str:
    start = text.index(header)
    return text[start : text.index("\n}\n", start) + 3]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with `webchat_authorizer`, `channels` and compute's webchat_* locals: nothing else."""
    if shutil.which("terraform") is None:
        pytest.skip("the terraform binary is not on PATH")
    root_vars = (TERRAFORM / "variables.tf").read_text("utf-8")
    compute = (TERRAFORM / "modules" / "compute" / "main.tf").read_text("utf-8")
    webchat_locals = [line for line in compute.splitlines() if re.match(r"  webchat_\w+\s*=", line)]
    work = tmp_path_factory.mktemp("console")
    (work / "main.tf").write_text(
        _block(root_vars, 'variable "webchat_authorizer" {')
        + _block(root_vars, 'variable "channels" {')
        + "locals {\n"
        + "\n".join(webchat_locals)
        + "\n}\n",
        "utf-8",
    )
    return work


def evaluate(work: Path, authorizer: str, channels: str = '["webchat", "telegram"]') -> dict[str, Any]:
    result = subprocess.run(
        [
            "terraform",
            "console",
            "-no-color",
            f"-var=webchat_authorizer={authorizer}",
            f"-var=channels={channels}",
        ],
        input="jsonencode({jwt = local.webchat_jwt_routes, iam = local.webchat_iam_routes})\n",
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise ValueError(result.stderr)
    answer: dict[str, Any] = json.loads(json.loads(result.stdout.strip().splitlines()[-1]))
    return answer


COGNITO = (
    '{type = "jwt", issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab", audience = ["c1"]}'
)


def test_terraform_publishes_webchat_only_with_an_authorizer(console: Path) -> None:
    assert evaluate(console, "null") == {"jwt": [], "iam": []}
    assert evaluate(console, COGNITO) == {"jwt": sorted(WEBCHAT_ROUTES), "iam": []}
    assert evaluate(console, '{type = "iam"}') == {"jwt": [], "iam": sorted(WEBCHAT_ROUTES)}
    assert evaluate(console, COGNITO, '["telegram"]') == {"jwt": [], "iam": []}


@pytest.mark.parametrize(
    "authorizer",
    ['{type = "basic"}', '{type = "jwt"}', '{type = "jwt", issuer = "http://x", audience = ["a"]}'],
)
def test_terraform_refuses_an_incomplete_authorizer(console: Path, authorizer: str) -> None:
    with pytest.raises(ValueError, match="Invalid value for variable"):
        evaluate(console, authorizer)
