"""Logging for the service: one JSON object per line on stderr.

Never log tokens, JWTs, names or identifiers: the call log (`anakinra_cds.calls`) carries the
patient only as a keyed hash, and no module logs request bodies or headers.
"""

from __future__ import annotations

import json
import logging
import sys
import time

import orjson

_CONFIGURED = False


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):  # the call log hands its object over as it is
            entry.update(fields)
            return orjson.dumps(entry).decode()
        msg = record.getMessage()
        if msg.startswith("{") and msg.endswith("}"):
            try:
                entry.update(json.loads(msg))
            except ValueError:
                entry["message"] = msg
        else:
            entry["message"] = msg
        if record.exc_info and record.levelno >= logging.ERROR:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, separators=(",", ":"))


def configure(level: str = "INFO") -> None:
    global _CONFIGURED  # noqa: PLW0603  (logging is configured once per process)
    if _CONFIGURED:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ("anakinra_cds", "cds_service"):
        logging.getLogger(name).setLevel(level)
    _CONFIGURED = True
