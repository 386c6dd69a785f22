"""Structured JSON log line per call: no tokens, no JWTs, no names, no identifiers (patient as a keyed hash)."""

from __future__ import annotations

import logging
import time

import orjson

from ..store import patient_hash

log = logging.getLogger("anakinra_cds.calls")


def log_call(service_id, req, result, status: int, started: float, hash_key: bytes) -> None:
    entry = {
        "event": "hook-call",
        "service": service_id,
        "hookInstance": req.hook_instance,
        "patient": patient_hash(hash_key, req.patient_id)[:24],
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if result is not None:
        entry["determinations"] = [d.determination.value for d in result.decisions]
        entry["cards"] = len(result.body.get("cards", []))
        if result.technical_errors:
            entry["fhirErrors"] = len(result.technical_errors)
    if log.isEnabledFor(logging.INFO):
        # The message is the JSON object; `fields` spares the JSON-lines formatter parsing it back.
        log.info(orjson.dumps(entry).decode(), extra={"fields": entry})
