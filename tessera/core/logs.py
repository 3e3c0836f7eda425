"""Log lines as JSON objects, one per line (``TESSERA_LOG_FORMAT=json``).

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``process``, the
``request_id`` of the request or task the line was written for (``core.requestid``; absent
outside of one), ``exception`` (the traceback) when there is one, and the fields a caller
passed in ``extra`` (the access log's method, route, status, duration_ms, db_queries).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from tessera.core import requestid

# The attributes every LogRecord has; anything else on a record came through ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
}


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``%(request_id)s`` in text formats)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = requestid.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        request_id = getattr(record, "request_id", None) or requestid.get()
        if request_id and request_id != "-":
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)
