"""Keyed pseudonyms for patients and members, and the key they are made with.

The audit trail and the authorization records never hold a patient id or a member id:
only HMAC-SHA256(key, id) in hex. Without the key the hashes cannot be recomputed from
a guessed id, so keep the key out of the database (it lives in the environment or in a
0600 file next to the SQLite database).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE_NAME = "patient-hash.key"
MIN_KEY_CHARS = 16
_MEMBER_PREFIX = b"member:"
_KEYED: dict[bytes, hmac.HMAC] = {}  # key -> HMAC-SHA256 with the key set up, to copy
_MAX_KEYS = 16


def _hmac_sha256_hex(key: bytes, message: bytes) -> str:
    """HMAC-SHA256(key, message) in hex, from a copy of an HMAC object keyed once per key (cheaper
    than a one-shot `hmac.digest`, which looks the HMAC and the digest up again on every call; three
    pseudonyms are made per hook call: benchmarks/README.md, "The store's speed tricks")."""
    keyed = _KEYED.get(key)
    if keyed is None:
        keyed = hmac.new(key, digestmod=hashlib.sha256)
        if len(_KEYED) >= _MAX_KEYS:
            _KEYED.clear()
        _KEYED[key] = keyed
    h = keyed.copy()
    h.update(message)
    return h.hexdigest()


def patient_hash(key: bytes, patient_id: str) -> str:
    """HMAC-SHA256 of the patient id with `key`, as 64 lowercase hex characters."""
    if not key:
        raise ValueError("patient_hash needs a non-empty key")
    if not patient_id:
        raise ValueError("patient_hash needs a patient id")
    return _hmac_sha256_hex(key, patient_id.encode("utf-8"))


def member_ref(key: bytes, member_id: str) -> str:
    """The keyed hash stored as `member_ref` for a Coverage subscriber/member id.

    HMAC-SHA256(key, "member:" + id) in hex: domain-separated from `patient_hash`, so a
    member id that happens to equal a patient id does not give the same pseudonym.
    Surrounding whitespace is ignored. Use this (or `Store.member_ref`) both when the hook
    looks up authorizations and when files are imported, so the two meet.
    """
    if not key:
        raise ValueError("member_ref needs a non-empty key")
    member_id = (member_id or "").strip()
    if not member_id:
        raise ValueError("member_ref needs a member id")
    return _hmac_sha256_hex(key, _MEMBER_PREFIX + member_id.encode("utf-8"))


class HashKeyError(RuntimeError):
    """The configured key is too short, or the key file is unreadable or corrupt."""


def load_hash_key(configured: str, var_dir: str | os.PathLike) -> bytes:
    """The HMAC key: `configured` (settings.patient_hash_key) when set, else the key file.

    A configured key must have at least 16 characters; its UTF-8 bytes are the key.
    Otherwise `<var_dir>/patient-hash.key` is read, and created on first use with 32 random
    bytes (hex) and mode 0600. Creation is atomic (write a temp file, then hard-link it into
    place), so several worker processes starting together all end up with the same key.
    """
    if configured:
        if len(configured) < MIN_KEY_CHARS:
            raise HashKeyError(f"CDS_PATIENT_HASH_KEY must have at least {MIN_KEY_CHARS} characters")
        return configured.encode("utf-8")
    directory = Path(var_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / KEY_FILE_NAME
    if not path.exists():
        tmp = directory / f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process won the race: use theirs
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise HashKeyError(f"cannot read the patient hash key file {path}: {exc}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise HashKeyError(f"the patient hash key file {path} is corrupt (expected at least 32 hex characters)")
    return key
