"""The import arrows that keep the folders showing the system (import-linter's layer contracts, by AST).

Every import counts: module level, inside functions (lazy) and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.layout import LAYERS, PACKAGES, ROOT, package_files

# (importer, imported) -> why this arrow points the wrong way for now.
EXCEPTIONS: dict[tuple[str, str], str] = {
    **{
        ("clawbus.bus.secret_env", target): "the images' entry point that Terraform names (`python -m "
        "clawbus.bus.secret_env`) loads the run's secrets through the storage layer; it moves when the "
        "compute module next changes its command, not in a refactor (a Lambda applies image and command "
        "in two calls)"
        for target in ("clawbus.storage.backends", "clawbus.storage.secrets")
    },
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["clawbus", *parts])


def imports_of(path: Path, module: str | None = None) -> set[str]:
    """The clawbus modules a file imports, resolved to absolute names."""
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
    return {name for name in found if name.startswith("clawbus.")}


def _top(module: str) -> str:
    return module.split(".")[1]


def _rank() -> dict[str, int]:
    return {package: level for level, layer in enumerate(LAYERS) for package in layer}


def arrows() -> list[tuple[str, str]]:
    found = []
    for package in PACKAGES:
        for path in package_files(package):
            importer = _module_name(path)
            found += [(importer, imported) for imported in sorted(imports_of(path))]
    return found


def _wrong(importer: str, imported: str) -> str | None:
    rank = _rank()
    source, target = _top(importer), _top(imported)
    if source == target:
        return None
    if rank[target] > rank[source]:
        return "imports a higher layer"
    if rank[target] == rank[source]:
        return "imports a peer in its own layer"
    return None


def test_every_package_sits_in_one_layer() -> None:
    placed = [package for layer in LAYERS for package in layer]
    assert len(placed) == len(set(placed)), "a package is in two layers"
    assert set(placed) == set(PACKAGES), "pyproject's packages and tests/layout.py's LAYERS differ"


def test_imports_point_down_the_layers_only() -> None:
    wrong = [
        f"{importer} -> {imported}: {why}"
        for importer, imported in arrows()
        if (why := _wrong(importer, imported)) and (importer, imported) not in EXCEPTIONS
    ]
    assert not wrong, "\n".join(wrong)


def test_every_exception_is_still_needed() -> None:
    seen = set(arrows())
    for arrow, reason in EXCEPTIONS.items():
        assert arrow in seen, f"{arrow} no longer imported: drop the exception"
        assert _wrong(*arrow), f"{arrow} is allowed by the layers now: drop the exception"
        assert reason.strip()


def test_the_check_sees_lazy_relative_and_type_checking_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "from .errors import ClawbusError\n"
        "if TYPE_CHECKING:\n    from ..egress import main\n"
        "def f() -> None:\n    from ..cli import up\n    import clawbus.ingress.core\n"
    )
    found = imports_of(probe, module="clawbus.bus.probe")
    assert found == {"clawbus.bus.errors", "clawbus.egress", "clawbus.cli", "clawbus.ingress.core"}
    assert [_wrong("clawbus.bus.probe", name) for name in sorted(found)] == [
        None,
        "imports a higher layer",
        "imports a higher layer",
        "imports a higher layer",
    ]
    assert _wrong("clawbus.egress.main", "clawbus.ingress.core") == "imports a peer in its own layer"


def test_both_images_copy_every_package() -> None:
    for dockerfile in ("app.Dockerfile", "agent.Dockerfile"):
        text = (ROOT / "infra" / "docker" / dockerfile).read_text()
        copied = set(re.findall(r"^COPY (\w+) ", text, flags=re.MULTILINE))
        assert set(PACKAGES) <= copied, f"{dockerfile} does not copy {sorted(set(PACKAGES) - copied)}"


def test_the_architecture_doc_lists_every_top_level_folder() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    missing = [package for package in PACKAGES if f"`{package}/`" not in doc]
    assert not missing, f"docs/architecture.md's layout does not name {missing}"


# Stores are built by the storage layer's factory (`storage/backends.py`); the embedded default and the
# CLI build what they operate on. Anywhere else a store class or a raw boto3 client is constructed, the
# stage has grown a second way to reach its state.
STORE_BUILDERS = ("storage", "local", "cli")
STORE_CONSTRUCTORS = {"DynamoRecordStore", "DynamoIdempotencyStore", "S3BlobStore", "boto3.client"}


def constructions(path: Path) -> list[str]:
    """`line: name` of each store constructor (or `boto3.client`) a file calls."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            name = func.id
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            name = f"{func.value.id}.{func.attr}"
        else:
            continue
        if name in STORE_CONSTRUCTORS:
            found.append(f"{node.lineno}: {name}")
    return found


def test_stores_are_built_only_by_the_storage_layer_local_and_cli() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{where}"
        for package in PACKAGES
        if package not in STORE_BUILDERS
        for path in package_files(package)
        for where in constructions(path)
    ]
    assert not wrong, "build stores through clawbus.storage.backends:\n" + "\n".join(wrong)


def test_the_store_check_sees_each_constructor(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import boto3\n"
        "a = DynamoRecordStore(ddb, 't')\n"
        "b = S3BlobStore(s3, 'bucket')\n"
        "c = boto3.client('sqs')\n"
        "d = record_store(ddb, 't')\n"
    )
    assert constructions(probe) == ["2: DynamoRecordStore", "3: S3BlobStore", "4: boto3.client"]
