"""Egress's pure logic (chunking and formatting per platform, rate plans) lives here."""

from __future__ import annotations

__all__: list[str] = []
