"""JSON logs, one line per decision, with stable keys."""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

DECISION_KEYS = ("loop", "namespace", "name", "field", "old", "new", "reason", "action")


def configure(level: str = "INFO", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            # LogRecord owns `name` (the logger's): ours travels as object_name and is renamed.
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "object_name": "name",
            },
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The client logs every retry at WARNING through urllib3; our own lines say what matters.
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def decision(
    logger: logging.Logger,
    message: str,
    *,
    loop: str,
    namespace: str,
    name: str,
    field: str | None,
    old: Any,
    new: Any,
    reason: str,
    action: str,
    level: int = logging.INFO,
    **extra: Any,
) -> None:
    """One decision: every key of DECISION_KEYS is always present, null when not applicable."""
    logger.log(
        level,
        message,
        extra={
            "loop": loop,
            "namespace": namespace,
            "object_name": name,
            "field": field,
            "old": old,
            "new": new,
            "reason": reason,
            "action": action,
            **extra,
        },
    )
