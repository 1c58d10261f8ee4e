"""The `store` fixture: a workspace store on each backend, a local directory and S3 on the loopback API.

tests/conftest.py loads it as a plugin: a test that takes `store` runs on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiobotocore.session import get_session

from clawbus.storage import LocalWorkspaceStore, S3WorkspaceStore
from tests.conftest import LOCAL_AWS, REGION, Bus

Store = LocalWorkspaceStore | S3WorkspaceStore


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The agent `main`'s workspace, in a fresh directory or in this test's bucket."""
    if request.param == "local":
        yield LocalWorkspaceStore(tmp_path / "workspace")
        return
    bus: Bus = request.getfixturevalue("bus")
    async with get_session().create_client(
        "s3",
        region_name=REGION,
        endpoint_url=bus.endpoint,
        aws_access_key_id=LOCAL_AWS.access_key_id,
        aws_secret_access_key=LOCAL_AWS.secret_access_key.get_secret_value(),
    ) as s3:
        yield S3WorkspaceStore(s3, f"{bus.prefix}-state", "main")
