"""Reading the plan's prior authorization records from a CSV or JSON file.

Columns (CSV header / JSON object keys), documented in README.md, section Persistence:

| column                  | required | meaning                                                        |
|-------------------------|----------|----------------------------------------------------------------|
| `pa_id`                 | yes      | the plan's authorization number (becomes `satisfied-pa-id`)    |
| `member_id`             | one of   | the raw Coverage subscriber/member id: hashed on import        |
| `member_ref`            | the two  | an already keyed hash (64 hex) made with the same key          |
| `drug`                  | yes      | e.g. `anakinra` (stored lower-case)                            |
| `indication`            | no       | indication key from the policy data, e.g. `ra`                 |
| `start`, `end`          | yes      | the approved period, `YYYY-MM-DD`, both inclusive              |
| `status`                | no       | approved (default) \\| denied \\| revoked                       |
| `coverage_assertion_id` | no       | the coverage-assertion-id the approval was given under         |

JSON is either a list of such objects or `{"authorizations": [...]}` (other top-level keys,
such as "description", are ignored). The whole file is checked before anything is stored;
the first problem is reported as `AuthorizationImportError` naming the line or entry.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .pseudonyms import member_ref as make_member_ref
from .public_types import AUTHORIZATION_STATUSES, is_keyed_hash

COLUMNS = (
    "pa_id",
    "member_id",
    "member_ref",
    "drug",
    "indication",
    "start",
    "end",
    "status",
    "coverage_assertion_id",
)
MAX_FILE_BYTES = 50_000_000


class AuthorizationImportError(ValueError):
    """The authorization file is missing, unreadable or has an invalid row (message says where)."""


@dataclass(frozen=True)
class AuthorizationImportRow:
    pa_id: str
    member_ref: str
    drug: str
    indication: str | None
    start: date
    end: date
    status: str
    coverage_assertion_id: str | None


def read_authorization_file(path: str | os.PathLike[str], key: bytes | None) -> list[AuthorizationImportRow]:
    """Parse and validate every record of a CSV or JSON authorization file.

    `key` hashes `member_id` values (the Store's key); it may be None only when every row
    carries `member_ref`. Raises AuthorizationImportError with one readable line.
    """
    p = Path(path)
    if not p.is_file():
        raise AuthorizationImportError(f"{p}: no such file")
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise AuthorizationImportError(f"{p}: larger than {MAX_FILE_BYTES} bytes")
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AuthorizationImportError(f"{p}: not UTF-8 text") from None
    except OSError as exc:
        raise AuthorizationImportError(f"{p}: cannot read ({exc.strerror or exc})") from None
    is_json = p.suffix.lower() == ".json" or (p.suffix.lower() != ".csv" and text.lstrip()[:1] in ("[", "{"))
    raw_rows = _json_rows(p, text) if is_json else _csv_rows(p, text)
    if not raw_rows:
        raise AuthorizationImportError(f"{p}: no authorization records")
    rows: list[AuthorizationImportRow] = []
    seen: dict[str, str] = {}
    for where, raw in raw_rows:
        row = _validate(f"{p.name} {where}", raw, key)
        if row.pa_id in seen:
            raise AuthorizationImportError(f"{p.name} {where}: pa_id {row.pa_id!r} repeats {seen[row.pa_id]}")
        seen[row.pa_id] = where
        rows.append(row)
    return rows


def _csv_rows(p: Path, text: str) -> list[tuple[str, dict]]:
    reader = csv.DictReader(text.splitlines(), strict=True)
    try:
        header = reader.fieldnames
        if not header:
            raise AuthorizationImportError(f"{p}: empty CSV file (expected a header line)")
        header = [h.strip() for h in header]
        reader.fieldnames = header
        unknown = [h for h in header if h not in COLUMNS]
        if unknown:
            raise AuthorizationImportError(
                f"{p.name} line 1: unknown column(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(COLUMNS)}"
            )
        out = []
        for record in reader:
            where = f"line {reader.line_num}"
            if None in record:
                raise AuthorizationImportError(f"{p.name} {where}: more fields than header columns")
            if all(not (v or "").strip() for v in record.values()):
                continue  # blank line
            out.append((where, record))
        return out
    except csv.Error as exc:
        raise AuthorizationImportError(f"{p.name} line {reader.line_num}: bad CSV ({exc})") from None


def _json_rows(p: Path, text: str) -> list[tuple[str, dict]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuthorizationImportError(f"{p.name} line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if isinstance(doc, dict):
        if "authorizations" not in doc:
            raise AuthorizationImportError(f'{p.name}: expected a list or an object with "authorizations"')
        doc = doc["authorizations"]
    if not isinstance(doc, list):
        raise AuthorizationImportError(f'{p.name}: "authorizations" must be a list')
    out = []
    for i, item in enumerate(doc):
        where = f"authorizations[{i}]"
        if not isinstance(item, dict):
            raise AuthorizationImportError(f"{p.name} {where}: must be an object")
        unknown = [k for k in item if k not in COLUMNS]
        if unknown:
            raise AuthorizationImportError(
                f"{p.name} {where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(COLUMNS)}"
            )
        for k, v in item.items():
            if v is not None and not isinstance(v, str):
                raise AuthorizationImportError(f"{p.name} {where}: {k!r} must be a string")
        out.append((where, item))
    return out


def _text(raw: dict, name: str) -> str:
    return (raw.get(name) or "").strip()


def _date(where: str, raw: dict, name: str) -> date:
    value = _text(raw, name)
    if not value:
        raise AuthorizationImportError(f"{where}: {name!r} is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AuthorizationImportError(f"{where}: {name!r} is not a date (YYYY-MM-DD): {value!r}") from None


def _validate(where: str, raw: dict, key: bytes | None) -> AuthorizationImportRow:
    pa_id = _text(raw, "pa_id")
    if not pa_id:
        raise AuthorizationImportError(f"{where}: 'pa_id' is required")
    if len(pa_id) > 64:
        raise AuthorizationImportError(f"{where}: 'pa_id' is longer than 64 characters")
    member_id, ref = _text(raw, "member_id"), _text(raw, "member_ref")
    if bool(member_id) == bool(ref):
        raise AuthorizationImportError(f"{where}: give exactly one of 'member_id' (raw) or 'member_ref' (hashed)")
    if ref:
        ref = ref.lower()
        if not is_keyed_hash(ref):
            raise AuthorizationImportError(
                f"{where}: 'member_ref' must be a 64-hex keyed hash (put raw ids in 'member_id')"
            )
    else:
        if not key:
            raise AuthorizationImportError(f"{where}: 'member_id' needs the hash key, which is not configured")
        ref = make_member_ref(key, member_id)
    drug = _text(raw, "drug").lower()
    if not drug:
        raise AuthorizationImportError(f"{where}: 'drug' is required")
    start, end = _date(where, raw, "start"), _date(where, raw, "end")
    if start > end:
        raise AuthorizationImportError(f"{where}: 'start' {start} is after 'end' {end}")
    status = _text(raw, "status").lower() or "approved"
    if status not in AUTHORIZATION_STATUSES:
        raise AuthorizationImportError(
            f"{where}: 'status' must be one of {', '.join(AUTHORIZATION_STATUSES)}, got {status!r}"
        )
    for name, limit in (("drug", 64), ("indication", 64), ("coverage_assertion_id", 128)):
        if len(_text(raw, name)) > limit:
            raise AuthorizationImportError(f"{where}: {name!r} is longer than {limit} characters")
    return AuthorizationImportRow(
        pa_id=pa_id,
        member_ref=ref,
        drug=drug,
        indication=_text(raw, "indication") or None,
        start=start,
        end=end,
        status=status,
        coverage_assertion_id=_text(raw, "coverage_assertion_id") or None,
    )
