"""Last-line redaction of JSON written to the audit trail.

The web layer is expected to hand the store determinations and clause outcomes without
patient identifiers or tokens. As a safety net, before a row is written every string in
those JSON values is scrubbed of:
- JWTs (three base64url segments starting with "eyJ") and "Bearer ..." credentials,
- `Patient/<id>` references (relative or absolute),
and values under keys that name a token or a patient id are replaced entirely.
"""

from __future__ import annotations

import math
import re
from typing import Any

REDACTED = "[redacted]"

_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_BEARER_RE = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_PATIENT_REF_RE = re.compile(r"\bPatient/[A-Za-z0-9.\-]{1,64}")
_SECRET_KEYS = frozenset(
    k.lower()
    for k in (
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "jwt",
        "authorization",
        "fhirAuthorization",
        "patientId",
        "patient",
        "patient_id",
        "member_id",
        "memberId",
        "subscriberId",
    )
)


# Every pattern above needs "eyJ", "Patient/" or "bearer" (in any case, matched with the same (?i)
# rules as _BEARER_RE), so a string holding none of them comes back unchanged. Checking that first
# costs a fraction of the three subs, and nearly no audited string holds any (hot path: an audit
# row has ~160 strings).
_BEARER_HINT_RE = re.compile(r"(?i)bearer")


def _has_hint(text: str) -> bool:
    """Could one of the patterns above match in `text`? (False: redaction leaves it unchanged.)"""
    return "eyJ" in text or "Patient/" in text or _BEARER_HINT_RE.search(text) is not None


def redact_text(text: str) -> str:
    """`text` with JWTs, bearer credentials and Patient references replaced."""
    if type(text) is str and not _has_hint(text):
        return text  # (a str subclass takes the subs below, which return a plain str)
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


class NotPlainJSON(Exception):
    """Raised by `redact_plain_json` for a value it leaves to `redact_json` (see there)."""


_PLAIN_MAX_DEPTH = 64  # deeper (or a reference cycle): the general path decides
_PLAIN_INT_MIN, _PLAIN_INT_MAX = -(2**63), 2**64 - 1  # what orjson can write


def _flat_clean_copy(value: dict) -> dict | None:
    """A copy of a dict whose keys and values are all exactly str, none a secret key and none
    holding a redaction hint; None for any other dict (the item-by-item path decides). The clause
    outcome maps of an audit row (~125 entries) are such dicts: one hint check on the joined text
    replaces two per entry. NUL joins them, so no hint can span two strings."""
    parts = []
    for k, v in value.items():
        if type(k) is not str or type(v) is not str or k.lower() in _SECRET_KEYS:
            return None
        parts.append(k)
        parts.append(v)
    if _has_hint("\x00".join(parts)):
        return None
    return dict(value)


def redact_plain_json(value: Any, _depth: int = 0) -> Any:
    """`redact_json(value)` for "plain" JSON; raises NotPlainJSON for anything else.

    Plain: containers that are exactly dict (str keys), list or tuple, nested at most 64 deep;
    leaves that are exactly str, bool, None, an int in the 64-bit range or a finite float. For
    such a value `json.dumps` cannot fail, and orjson writes the same document (up to whitespace
    and escapes), so the store can skip its json.dumps check and serialise with orjson. Values
    under token / patient-id keys are replaced but must be plain too (the check covers them).
    """
    t = type(value)
    if t is str:
        return redact_text(value)
    if t is dict:
        if _depth >= _PLAIN_MAX_DEPTH:
            raise NotPlainJSON
        flat = _flat_clean_copy(value)
        if flat is not None:
            return flat
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise NotPlainJSON
            if k.lower() in _SECRET_KEYS and v is not None:
                redact_plain_json(v, _depth + 1)  # only to check it is plain
                out[redact_text(k)] = REDACTED
            elif type(v) is str:  # the common case, one call less
                out[redact_text(k)] = redact_text(v)
            else:
                out[redact_text(k)] = redact_plain_json(v, _depth + 1)
        return out
    if t is list or t is tuple:
        if _depth >= _PLAIN_MAX_DEPTH:
            raise NotPlainJSON
        return [redact_text(v) if type(v) is str else redact_plain_json(v, _depth + 1) for v in value]
    if value is None or t is bool:
        return value
    if t is int and _PLAIN_INT_MIN <= value <= _PLAIN_INT_MAX:
        return value
    if t is float and math.isfinite(value):  # orjson would write NaN / Infinity as null
        return value
    raise NotPlainJSON
