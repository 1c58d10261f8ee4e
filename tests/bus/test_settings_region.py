"""Every stage honours the standard AWS region environment unless CLAWBUS_AWS__REGION overrides it.

Lambda, ECS and AgentCore Runtime set AWS_REGION; a stage that ignored it would talk to us-east-1 from any
other region and find none of its queues, tables or secrets.
"""

from __future__ import annotations

import pytest

from clawbus.bus.settings import Settings


@pytest.fixture
def clean_region(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "CLAWBUS_AWS__REGION"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_stage_in_aws_uses_the_region_aws_gives_it(clean_region: pytest.MonkeyPatch) -> None:
    clean_region.setenv("AWS_REGION", "eu-west-1")
    clean_region.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert Settings().aws.region == "eu-west-1"


def test_aws_default_region_is_the_fallback(clean_region: pytest.MonkeyPatch) -> None:
    clean_region.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert Settings().aws.region == "ap-south-1"


def test_clawbus_region_overrides_the_aws_environment(clean_region: pytest.MonkeyPatch) -> None:
    clean_region.setenv("AWS_REGION", "eu-west-1")
    clean_region.setenv("CLAWBUS_AWS__REGION", "us-west-2")
    assert Settings().aws.region == "us-west-2"


def test_without_any_region_it_is_us_east_1(clean_region: pytest.MonkeyPatch) -> None:
    assert Settings().aws.region == "us-east-1"
