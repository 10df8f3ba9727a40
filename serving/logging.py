"""Structured JSON logs carrying the request id of the request being served.

The request id lives in a :class:`contextvars.ContextVar` set by the request middleware, so every log record
emitted while a request is handled (in the event loop or in a worker thread started with ``run_in_threadpool``,
which copies the context) carries it without being passed around.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

__all__ = ["JsonFormatter", "configure_logging", "get_request_id", "request_id_var"]

request_id_var: ContextVar[str | None] = ContextVar("stockyard_request_id", default=None)

# Attributes every LogRecord has; anything else was passed through ``extra=`` and is logged as a field.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def get_request_id() -> str | None:
    """The id of the request being handled in this context, if any.

    Returns:
        The request id or ``None`` outside a request.
    """
    return request_id_var.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line.

        Args:
            record: The log record.

        Returns:
            The JSON text.
        """
        payload: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = (
            record.__dict__.get("request_id") or record.__dict__.get("ctx_request_id") or request_id_var.get()
        )
        if request_id:
            payload["request_id"] = request_id
        for key, value in record.__dict__.items():
            if (
                key not in _STANDARD_ATTRS
                and key not in ("request_id", "ctx_request_id")
                and not key.startswith("_")
            ):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def _stamp_request_id(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    # Stamp the id when the record is created: handlers may format it later, outside the request's context.
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        # Not ``request_id``: callers may pass that through ``extra=`` and logging refuses to overwrite it.
        record.ctx_request_id = request_id_var.get()
        return record

    make._stockyard = True  # type: ignore[attr-defined]
    return make


def configure_logging(level: int | str = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON lines (idempotent).

    Args:
        level: Root log level.
    """
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "_stockyard", False):
        logging.setLogRecordFactory(_stamp_request_id(factory))
    root = logging.getLogger()
    root.setLevel(level)
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    # uvicorn's own loggers would otherwise print plain text through their handlers.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
