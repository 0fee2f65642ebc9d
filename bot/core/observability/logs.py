"""Log set-up: readable text by default, or one JSON object per line (`LOG_FORMAT=json`).

Fields that say what a line is about (job id, interaction id, guild, provider, provider job id)
come from `extra=` or from `bind()`, which stores them in a context variable: each asyncio task
has its own copy, so a job's driver task, or an interaction's handler task, tags every line it
logs without passing them around."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FIELDS = ("job_id", "interaction_id", "guild_id", "provider", "provider_job_id")

_context: contextvars.ContextVar[dict[str, str | int] | None] = contextvars.ContextVar(
    "reelbot_log_context", default=None
)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def bind(**fields: str | int | None) -> None:
    """Tag every later log line of the current task (and tasks it starts) with these fields."""
    current = dict(_context.get() or {})
    current.update({k: v for k, v in fields.items() if v is not None})
    _context.set(current)


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (an explicit `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(*, level: str, fmt: str, stream: TextIO | None = None) -> logging.Handler:
    """Install the root handler (replacing earlier ones) and return it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


# Libraries that log one line per HTTP request at INFO.
PER_REQUEST_LOGGERS = ("httpx", "httpcore")


def quiet_request_logs(*, always: bool = False) -> None:
    """Keep the HTTP clients' one line per request out of the log unless it is at DEBUG (or
    `always`): a bot polling thousands of jobs would write a thousand lines a second that the
    metrics already count, and `reelbot generate` shows its own progress, which they would cut
    into."""
    if always or logging.root.level > logging.DEBUG:
        for name in PER_REQUEST_LOGGERS:
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.root.level))
