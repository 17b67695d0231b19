"""How every HTTP service of taskstream is served."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

# One set of server options, shared by `taskstream up` and the benchmarks' baseline.
UVICORN_OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    "access_log": False,
    "lifespan": "on",
    "timeout_graceful_shutdown": 5,
}


def serve(app: FastAPI, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, **UVICORN_OPTIONS)
