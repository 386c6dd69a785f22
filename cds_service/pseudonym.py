"""Keyed hashes (HMAC-SHA256) for patient and member identifiers: correlation without the identifier."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from .config import Settings


def load_key(settings: Settings) -> bytes:
    """settings.patient_hash_key when set, else a random key created once in <var_dir>/patient-hash.key (0600)."""
    if settings.patient_hash_key:
        return settings.patient_hash_key.encode()
    path = Path(settings.var_dir) / "patient-hash.key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key)
        finally:
            os.close(fd)
        return key
    except OSError:
        return secrets.token_hex(32).encode()


def pseudonym(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
