"""JWK Sets: where a trusted issuer's public keys come from (a pinned file, or a URL fetched and
cached), which key fits a token's `alg`, and the key objects built from them (cached per content).

No network access happens here except through `RemoteKeySource`, and only for URLs the operator
configured (see `issuers.py`).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Protocol

import jwt

from .errors import AuthError, log

_EC_CURVE_FOR_ALG = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MAX_CACHED_KEYS = 64


class KeySource(Protocol):
    description: str

    def candidates(self, kid: str) -> list[dict]:
        """The public JWKs published under this kid (empty when none)."""


def public_only(jwk: dict) -> dict:
    return {k: v for k, v in jwk.items() if k not in _PRIVATE_JWK_MEMBERS}


def key_fits(jwk: dict, alg: str) -> bool:
    """Does this JWK fit the token's alg (key type, curve, declared use/alg/key_ops)?"""
    if jwk.get("use") not in (None, "sig"):
        return False
    if "alg" in jwk and jwk["alg"] != alg:
        return False
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return False
    kty = jwk.get("kty")
    if alg in _EC_CURVE_FOR_ALG:
        return kty == "EC" and jwk.get("crv") == _EC_CURVE_FOR_ALG[alg]
    if alg[:2] in ("RS", "PS"):
        return kty == "RSA"
    if alg == "EdDSA":
        return kty == "OKP" and jwk.get("crv") in ("Ed25519", "Ed448")
    return False


class StaticKeySource:
    """A JWK Set held in memory (from a pinned file): never touches the network."""

    def __init__(self, jwks: Any, description: str) -> None:
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ValueError(f"{description}: not a JWK Set (an object with a 'keys' array)")
        self.description = description
        self._by_kid: dict[str, list[dict]] = {}
        for jwk in jwks["keys"]:
            if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
                continue
            if _PRIVATE_JWK_MEMBERS & jwk.keys():
                log.warning(
                    "%s: key %r carries private key members; only its public part is used", description, jwk["kid"]
                )
            self._by_kid.setdefault(jwk["kid"], []).append(public_only(jwk))
        if not self._by_kid:
            raise ValueError(f"{description}: no key with a 'kid'")

    @classmethod
    def from_file(cls, path: str | Path) -> StaticKeySource:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read JWK Set file {p}: {exc}") from exc
        return cls(data, f"JWK Set file {p}")

    def candidates(self, kid: str) -> list[dict]:
        return list(self._by_kid.get(kid, ()))


class RemoteKeySource:
    """A JWK Set fetched from a configured URL (PyJWKClient: cached 5 min, one refresh on an
    unknown kid at most every 30 s, short timeout, no redirects)."""

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.description = f"JWKS URL {url}"
        self.url = url
        self._client = jwt.PyJWKClient(
            url,
            cache_jwk_set=True,
            lifespan=300,
            timeout=timeout_seconds,
            cooldown_duration=30,
            headers={"Accept": "application/json", "User-Agent": "anakinra-cds"},
        )

    def candidates(self, kid: str) -> list[dict]:
        try:
            key = self._client.get_signing_key(kid)
        except jwt.exceptions.PyJWKClientConnectionError as exc:
            raise AuthError(f"could not fetch {self.description}: {type(exc).__name__}") from exc
        except jwt.PyJWKClientError:
            return []
        except jwt.PyJWTError as exc:  # e.g. PyJWKSetError: no usable keys in the set
            raise AuthError(f"unusable {self.description}: {exc}") from exc
        raw = getattr(key, "_jwk_data", None)
        return [public_only(raw)] if isinstance(raw, dict) else []


class PublicKeyCache:
    """The key object of a JWK, built once per JWK content and alg (a JWK Set refresh that changes a
    key changes the content, so a new object is built). Thread-safe; bounded."""

    def __init__(self) -> None:
        self._keys: dict[tuple, Any] = {}  # (alg, the JWK's members) -> public key object
        self._lock = threading.Lock()

    def get(self, jwk: dict, alg: str) -> Any:
        """Raises jwt.PyJWTError when the JWK is not a usable key for alg."""
        cache_key = (alg, tuple(sorted((k, repr(v)) for k, v in jwk.items())))
        key = self._keys.get(cache_key)
        if key is None:
            key = jwt.PyJWK(jwk, algorithm=alg).key
            with self._lock:
                if len(self._keys) >= _MAX_CACHED_KEYS:
                    self._keys.clear()
                self._keys[cache_key] = key
        return key
