"""Token verification: CDS Hooks 2.0 "Trusting CDS Clients" (a signed JWT on every call).

`JwtVerifier.verify(authorization_header, audience_url)` returns the verified claims or raises
`AuthError`.

What is checked, in order:
1. `Authorization: Bearer <compact JWS>` (three base64url parts, bounded length).
2. Header: `alg` in the configured allow-list minus `none` and every HMAC (`HS*`) algorithm, even
   when configured; `typ` present and `JWT`; `kid` present.
3. `iss` (read unverified, only to pick the keys) is a trusted issuer from settings, or the public
   CDS Hooks Sandbox when `allow_sandbox_issuer` (its JWKS is pinned in keys/sandbox-jwks.json and
   never fetched). See `issuers.py`.
4. Keys: with a `jku` header, only a URL on that issuer's `jku_allow` list is used (any other jku is
   rejected before any network access); without one, the issuer's JWKS file or JWKS URL. The `kid`
   must select a key whose type/curve fits `alg`. See `keys.py`.
5. Signature, then claims (`claims.py`: `jwt.decode`): `aud` (string or array) contains exactly
   `audience_url`; `iss`, `exp`, `iat`, `jti` required; `exp` not passed and `iat`/`nbf` not in the
   future (leeway from settings, clock injectable). Then here: `exp` and `iat` are numbers; lifetime
   `exp - iat` at most `max_lifetime_seconds`; `tenant`, when present and settings.tenant_allow is
   set, allow-listed. `sub` and `tenant` are not required (no `sub` in CDS Hooks).
6. Last, `jti` must not have been seen for this issuer (replay cache shared across workers).

Never logged: the token. Logged on failure (by `flask_hook.py`): the reason and the (unverified)
iss, kid and jti.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from cds_service.config import Settings
from cds_service.web.replay_cache import ReplayCache

from . import claims as claims_paths
from .claims import Clock, is_number, signature_bytes
from .errors import AuthError, log, safe
from .issuers import SANDBOX_JWKS_FILE, IssuerTrust, build_issuers
from .keys import PublicKeyCache, key_fits

#: Asymmetric JWS algorithms we can verify. `none` and HS* are never accepted, whatever is configured.
ASYMMETRIC_ALGORITHMS = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    }
)

MAX_TOKEN_CHARS = 16_384
MAX_ID_CHARS = 256  # kid, jti
MIN_RSA_BITS = 2048
DEFAULT_MAX_LIFETIME_SECONDS = 3600  # CDS Hooks best practice: JWT lifetime <= 1 h
DEFAULT_JWKS_TIMEOUT_SECONDS = 2.0

_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def allowed_algorithms(configured: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The configured algorithms we accept: asymmetric ones only (never `none`, never HS*)."""
    out: list[str] = []
    for alg in configured:
        if alg in ASYMMETRIC_ALGORITHMS:
            if alg not in out:
                out.append(alg)
        else:
            log.warning(
                "JWT algorithm %r in the configuration is ignored: only asymmetric algorithms (%s) are ever accepted",
                alg,
                ", ".join(sorted(ASYMMETRIC_ALGORITHMS)),
            )
    return tuple(out)


def _unverified_parts(token: str) -> tuple[dict, dict]:
    """Header and claims of a compact JWS (already matched by _COMPACT_JWS: three base64url
    segments), NOT verified yet: they choose the issuer and the key; only the claims returned by
    the signature check are trusted. Raises ValueError when not JSON objects."""
    header_seg, payload_seg, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_seg + "=" * (-len(header_seg) % 4)))
    claims = json.loads(base64.urlsafe_b64decode(payload_seg + "=" * (-len(payload_seg) % 4)))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("header and claims must be JSON objects")
    return header, claims


class JwtVerifier:
    """Verifies CDS Client JWTs. Thread-safe; build one per process.

    `hand_checked_claims` chooses how the signature and registered claims are checked (see
    `claims.py`); by default the module switch `claims.HAND_CHECKED_CLAIMS`."""

    def __init__(
        self,
        settings: Settings,
        replay_cache: ReplayCache,
        *,
        clock: Clock = time.time,
        sandbox_jwks_file: str | Path = SANDBOX_JWKS_FILE,
        max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS,
        jwks_timeout_seconds: float = DEFAULT_JWKS_TIMEOUT_SECONDS,
        hand_checked_claims: bool | None = None,
    ) -> None:
        self._algorithms = allowed_algorithms(settings.jwt_algorithms)
        if not self._algorithms:
            raise ValueError(
                "no usable JWT algorithm configured (CDS_JWT_ALGORITHMS); CDS Hooks recommends ES384 and RS384"
            )
        self._leeway = max(0, int(settings.jwt_leeway_seconds))
        self._tenant_allow = frozenset(settings.tenant_allow)
        self._replay = replay_cache
        self._clock = clock
        self._max_lifetime = int(max_lifetime_seconds)
        self._keys = PublicKeyCache()
        self._issuers: dict[str, IssuerTrust] = build_issuers(
            settings, sandbox_jwks_file=sandbox_jwks_file, jwks_timeout_seconds=jwks_timeout_seconds
        )
        if hand_checked_claims is None:
            hand_checked_claims = claims_paths.HAND_CHECKED_CLAIMS
        self._signed_claims = claims_paths.claims_checker(hand_checked_claims, self._algorithms, self._leeway, clock)

    @property
    def algorithms(self) -> tuple[str, ...]:
        return self._algorithms

    @property
    def issuers(self) -> tuple[str, ...]:
        return tuple(self._issuers)

    def verify(self, authorization_header: str | None, audience_url: str) -> dict:
        seen: dict[str, Any] = {}
        try:
            return self._verify(authorization_header, audience_url, seen)
        except AuthError as exc:
            exc.iss, exc.kid, exc.jti = seen.get("iss"), seen.get("kid"), seen.get("jti")
            raise
        except Exception as exc:  # never a 500 from auth; log what broke, reject the request
            log.error("JWT verification failed unexpectedly (%s)", type(exc).__name__, exc_info=True)
            err = AuthError(f"internal error during verification ({type(exc).__name__})")
            err.iss, err.kid, err.jti = seen.get("iss"), seen.get("kid"), seen.get("jti")
            raise err from exc

    # -- the steps -----------------------------------------------------------------------------

    def _verify(self, authorization_header: str | None, audience_url: str, seen: dict) -> dict:
        token = self._bearer_token(authorization_header)

        try:
            header, unverified = _unverified_parts(token)
        except (ValueError, RecursionError) as exc:  # not base64url JSON objects (or absurdly nested)
            raise AuthError(f"malformed JWT ({type(exc).__name__})") from exc
        seen["kid"] = header.get("kid")
        seen["iss"] = unverified.get("iss")
        seen["jti"] = unverified.get("jti")

        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthError(f"alg {safe(alg)} not accepted")
        if "crit" in header:
            # RFC 7515 4.1.11: a JWS whose `crit` lists extensions the recipient does not understand is
            # invalid. This service understands none, so any `crit` is refused.
            raise AuthError(f"crit header names extensions this service does not understand: {safe(header['crit'])}")
        typ = header.get("typ")
        if typ is None:
            raise AuthError("typ header missing")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise AuthError(f"typ {safe(typ)} is not JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_ID_CHARS:
            raise AuthError("kid header missing or invalid")

        iss = unverified.get("iss")
        if not isinstance(iss, str):
            raise AuthError("iss claim missing or not a string")
        trust = self._issuers.get(iss)
        if trust is None:
            raise AuthError("issuer not trusted")

        jku = header.get("jku")
        if jku is not None:
            # Checked before any key lookup: a jku not on the list is never contacted.
            if not isinstance(jku, str) or jku not in trust.by_jku:
                raise AuthError(f"jku {safe(jku)} not on the allow-list of this issuer")
            source = trust.by_jku[jku]
        else:
            if trust.default is None:
                raise AuthError("token has no jku and the issuer has no configured JWK Set")
            source = trust.default

        fitting = [k for k in source.candidates(kid) if key_fits(k, alg)]
        if not fitting:
            raise AuthError(f"no key for this kid and alg {alg} in {source.description}")
        try:
            key = self._keys.get(fitting[0], alg)
        except jwt.PyJWTError as exc:
            raise AuthError(f"unusable key in {source.description} ({type(exc).__name__})") from exc
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            raise AuthError(f"RSA key shorter than {MIN_RSA_BITS} bits")

        claims = self._signed_claims.verify(
            token,
            key,
            alg=alg,
            iss=iss,
            audience_url=audience_url,
            unverified=unverified,
            signature=signature_bytes(token),
        )

        self._check_times(claims)

        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_ID_CHARS:
            raise AuthError("jti missing or invalid")

        if self._tenant_allow and "tenant" in claims:
            tenant = claims["tenant"]
            if not isinstance(tenant, str) or tenant not in self._tenant_allow:
                raise AuthError(f"tenant {safe(tenant)} not allowed")

        # Last: only a fully valid token is recorded, so forged tokens cannot burn real jtis.
        try:
            replayed = self._replay.seen_before(jti, iss, math.ceil(claims["exp"]))
        except Exception as exc:
            log.error("JWT replay cache unavailable (%s): rejecting (fail closed)", type(exc).__name__)
            raise AuthError(f"replay cache unavailable ({type(exc).__name__})") from exc
        if replayed:
            raise AuthError("jti replayed")
        return claims

    @staticmethod
    def _bearer_token(authorization_header: str | None) -> str:
        if not authorization_header:
            raise AuthError("Authorization header missing")
        if len(authorization_header) > MAX_TOKEN_CHARS:
            raise AuthError("Authorization header too long")
        parts = authorization_header.strip().split(" ")
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise AuthError("Authorization header is not 'Bearer <JWT>'")
        token = parts[1]
        if not _COMPACT_JWS.fullmatch(token):
            raise AuthError("bearer token is not a compact JWS")
        return token

    def _check_times(self, claims: dict) -> None:
        """What the signed-claims check leaves to us: `exp` and `iat` are numbers (PyJWT reads them
        with int(), so it takes "123" and true), and the lifetime exp - iat is bounded."""
        exp, iat = claims.get("exp"), claims.get("iat")
        if not is_number(exp):
            raise AuthError("exp is not a number")
        if not is_number(iat):
            raise AuthError("iat is not a number")
        if exp - iat > self._max_lifetime:
            raise AuthError(f"token lifetime exp-iat exceeds {self._max_lifetime} s")
