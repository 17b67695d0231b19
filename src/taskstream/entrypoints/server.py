"""How every HTTP service of taskstream is served."""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import logging
import re
from typing import Any

import uvicorn
from fastapi import FastAPI

from taskstream.observability import logs, metrics
from taskstream.settings import Settings

# One set of server options, shared by `taskstream up` and the benchmarks' baseline.
UVICORN_OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    "access_log": False,
    "lifespan": "on",
    "timeout_graceful_shutdown": 5,
    # Live updates are small JSON messages: compressing each one per socket costs more CPU
    # and memory (about 40 KB a socket) than it saves on the wire.
    "ws_per_message_deflate": False,
}


class RedactTokens(logging.Filter):
    """Hides `token=...` in logged URLs: WebSocket clients pass their access token there."""

    _TOKEN = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        record.msg = self._TOKEN.sub(r"\1[redacted]", str(record.msg))
        return True


def log_config(*, json_lines: bool = False, level: str = "INFO") -> dict[str, Any]:
    """uvicorn's logging and the app's, as text or JSON lines with trace ids, with access
    tokens redacted from every line."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    return logs.configure(config, json_lines=json_lines, level=level)


def serve(app: FastAPI, host: str, port: int, settings: Settings | None = None) -> None:
    """Serve `app` with taskstream's uvicorn options; `settings` choose the log format
    and level and a metrics port of its own (without them: text logs, INFO, no port)."""
    return_large_buffers_to_the_system()
    if settings is not None and settings.metrics_port is not None:
        metrics.serve(host, settings.metrics_port)
    uvicorn.run(app, host=host, port=port, log_config=_log_config(settings), **UVICORN_OPTIONS)


def serve_workers(
    factory: str, host: str, port: int, settings: Settings | None, *, workers: int
) -> None:
    """Serve the app that `factory` ("module:function") builds from `workers` processes on
    one listening socket; uvicorn's supervisor starts a new one when one dies."""
    uvicorn.run(
        factory,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_config=_log_config(settings),
        **UVICORN_OPTIONS,
    )


def _log_config(settings: Settings | None) -> dict[str, Any]:
    if settings is None:
        return log_config()
    return log_config(json_lines=settings.log_format == "json", level=settings.log_level)


def return_large_buffers_to_the_system() -> None:
    """Serve buffers of 1 MiB and more by mmap, so glibc gives them back when freed.

    Password hashing allocates 19 MiB at a time; with glibc's adaptive threshold those
    buffers would stay in the heap after the first log-in and the process would not shrink.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


_M_MMAP_THRESHOLD = -3
