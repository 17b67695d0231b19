"""How the HTTP services are served."""

from __future__ import annotations

import logging

from taskstream.entrypoints.server import RedactTokens, log_config


def test_access_tokens_never_reach_the_log() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/api/v1/ws?token=eyJhbGciOi.payload.sig&since=3"),
        None,
    )
    assert RedactTokens().filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5000 - "WebSocket /api/v1/ws?token=[redacted]&since=3" [accepted]'
    )


def test_every_handler_redacts() -> None:
    config = log_config()
    assert all("redact_tokens" in h["filters"] for h in config["handlers"].values())
