from __future__ import annotations

import pytest

from ._hcl import Module, all_modules


@pytest.fixture(scope="session")
def tf() -> dict[str, Module]:
    """Every Terraform module of infra/terraform, parsed once."""
    return all_modules()
