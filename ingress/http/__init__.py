"""The ingress HTTP adapter (ASGI): routes platform webhooks and WebChat onto the core pipeline.

`create_app` is imported on first use: `clawbus say`, `up` and the ops verbs import this package's small
helpers (`token_file`) and must not pay for every platform SDK the app loads (~0.7 s of a CLI start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clawbus.ingress.http.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from clawbus.ingress.http.app import create_app

        return create_app
    raise AttributeError(name)
