"""Log lines as JSON objects (TASKSTREAM_LOG_FORMAT=json) or text, with trace ids.

A JSON line holds `time` (UTC, ISO 8601), `level`, `logger`, `message`, the `trace_id`
and `span_id` of the work in progress (observability.trace) when there is one, and the
exception's traceback as `exception`. Access tokens in messages are already redacted
by the filters of the caller's logging configuration.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from taskstream.observability import trace


class TraceIds(logging.Filter):
    """Adds `trace_id` and `span_id` (empty outside any trace) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.current()
        record.trace_id = context.trace_id if context else ""
        record.span_id = context.span_id if context else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("trace_id", "span_id"):
            value = getattr(record, key, "")
            if value:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(trace_id)s] %(message)s"


def configure(config: dict[str, Any], *, json_lines: bool, level: str) -> dict[str, Any]:
    """`config` (a logging.config dict, e.g. uvicorn's) with every handler writing JSON or
    text lines with the trace ids, and the root logger at `level`."""
    config = {**config, "disable_existing_loggers": False}
    config["filters"] = {**config.get("filters", {}), "trace_ids": {"()": TraceIds}}
    formatter: dict[str, Any] = {"()": JsonFormatter} if json_lines else {"format": TEXT_FORMAT}
    config["formatters"] = {**config.get("formatters", {}), "taskstream": formatter}
    handlers = {}
    for name, handler in config.get("handlers", {}).items():
        filters = [*handler.get("filters", []), "trace_ids"]
        handlers[name] = {**handler, "formatter": "taskstream", "filters": filters}
    handlers.setdefault(
        "taskstream",
        {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "taskstream",
            "filters": ["trace_ids", *_shared_filters(config)],
        },
    )
    config["handlers"] = handlers
    config["root"] = {"handlers": ["taskstream"], "level": level.upper()}
    return config


def _shared_filters(config: dict[str, Any]) -> list[str]:
    return [name for name in config.get("filters", {}) if name != "trace_ids"]
