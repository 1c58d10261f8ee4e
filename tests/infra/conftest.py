from __future__ import annotations

import pytest

from tests.infra._hcl import Module, all_modules


@pytest.fixture(scope="session")
def tf() -> dict[str, Module]:
    """Every Terraform module of infra/terraform, parsed once."""
    return all_modules()
