"""Log records carry the request id; the JSON formatter writes structured lines for production.

Personal data never goes to logs: services log ids and codes, not names or numbers (QUALITY.md R8 checks this).
"""

from __future__ import annotations

import json
import logging

from . import context


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs 4xx/5xx responses after the middleware chain has returned, outside the request's context: the
        # request it passes along carries the right id.
        request = getattr(record, "request", None)
        rid = getattr(request, "request_id", None)
        if rid:
            record.request_id = rid
            record.channel = "api" if str(getattr(request, "path", "")).startswith("/api/") else "web"
            return True
        ctx = context.current()
        record.request_id = ctx.request_id
        record.channel = ctx.channel
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
            "channel": getattr(record, "channel", ""),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)
