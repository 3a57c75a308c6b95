"""The HTTP service (FastAPI) and the web page over the interactive engine.

`create_app` lives in `sessionrec.service.app`; it is loaded lazily here so that the CLI
can read service settings without importing FastAPI and the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sessionrec.service.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from sessionrec.service.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
