"""The ingress HTTP adapter (ASGI): routes platform webhooks and WebChat onto the core pipeline."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
