"""Last-line redaction of JSON written to the audit trail.

The web layer is expected to hand the store determinations and clause outcomes without
patient identifiers or tokens. As a safety net, before a row is written every string in
those JSON values is scrubbed of:
- JWTs (three base64url segments starting with "eyJ") and "Bearer ..." credentials,
- `Patient/<id>` references (relative or absolute),
and values under keys that name a token or a patient id are replaced entirely.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"

_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_BEARER_RE = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_PATIENT_REF_RE = re.compile(r"\bPatient/[A-Za-z0-9.\-]{1,64}")
_SECRET_KEYS = frozenset(
    k.lower()
    for k in (
        "access_token", "refresh_token", "id_token", "token", "jwt", "authorization",
        "fhirAuthorization", "patientId", "patient", "patient_id", "member_id", "memberId",
        "subscriberId",
    )
)


def redact_text(text: str) -> str:
    """`text` with JWTs, bearer credentials and Patient references replaced."""
    text = _JWT_RE.sub(REDACTED, text)
    text = _BEARER_RE.sub("Bearer " + REDACTED, text)
    return _PATIENT_REF_RE.sub("Patient/" + REDACTED, text)


def redact_json(value: Any) -> Any:
    """A copy of a JSON-able value with every string passed through `redact_text` and the
    values of token / patient-id keys replaced by "[redacted]"."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = str(k)
            if key.lower() in _SECRET_KEYS and v is not None:
                out[redact_text(key)] = REDACTED
            else:
                out[redact_text(key)] = redact_json(v)
        return out
    if isinstance(value, (list, tuple)):
        return [redact_json(v) for v in value]
    return value
