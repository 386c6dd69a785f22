"""Inbound authentication: CDS Hooks 2.0 "Trusting CDS Clients" (a signed JWT on every call).

`JwtVerifier.verify(authorization_header, audience_url)` returns the verified claims or raises
`AuthError`. `install(app, settings)` wires it into Flask as a `before_request` hook that answers
401 with an empty body on any failure (the reason is logged, never returned).

What is checked, in order:
1. `Authorization: Bearer <compact JWS>` (three base64url parts, bounded length).
2. Header: `alg` in the configured allow-list minus `none` and every HMAC (`HS*`) algorithm, even
   when configured; `typ` present and `JWT`; `kid` present.
3. `iss` (read unverified, only to pick the keys) is a trusted issuer from settings, or the public
   CDS Hooks Sandbox when `allow_sandbox_issuer` (its JWKS is pinned in keys/sandbox-jwks.json and
   never fetched).
4. Keys: with a `jku` header, only a URL on that issuer's `jku_allow` list is used (any other jku is
   rejected before any network access); without one, the issuer's JWKS file or JWKS URL. The `kid`
   must select a key whose type/curve fits `alg`.
5. Signature, then claims: `aud` (string or array) contains exactly `audience_url`; `iss`, `exp`,
   `iat`, `jti` required; `exp` not passed and `iat`/`nbf` not in the future (leeway from settings,
   clock injectable); lifetime `exp - iat` at most `max_lifetime_seconds`; `tenant`, when present and
   settings.tenant_allow is set, allow-listed. `sub` and `tenant` are not required (no `sub` in
   CDS Hooks).
6. Last, `jti` must not have been seen for this issuer (replay cache shared across workers).

Never logged: the token. Logged on failure: the reason and the (unverified) iss, kid and jti.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, g, request

from cds_service.config import Settings, TrustedIssuer
from cds_service.web.replay_cache import ReplayCache, make_replay_cache

log = logging.getLogger(__name__)

SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
SANDBOX_JWKS_FILE = Path(__file__).parent / "keys" / "sandbox-jwks.json"

#: Paths that never need a JWT (probes and the API description).
EXEMPT_PATHS = frozenset({"/health", "/openapi.json"})
# The guideline as data (linked from every card) holds no patient data: readable without a JWT.
EXEMPT_PREFIXES = ("/policy/",)

#: Asymmetric JWS algorithms we can verify. `none` and HS* are never accepted, whatever is configured.
ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})
_EC_CURVE_FOR_ALG = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

MAX_TOKEN_CHARS = 16_384
MAX_ID_CHARS = 256            # kid, jti
MIN_RSA_BITS = 2048
DEFAULT_MAX_LIFETIME_SECONDS = 3600   # CDS Hooks best practice: JWT lifetime <= 1 h
DEFAULT_JWKS_TIMEOUT_SECONDS = 2.0

_MAX_CACHED_KEYS = 64
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

Clock = Callable[[], float]


class AuthError(Exception):
    """The request is not authenticated. `reason` is for the log only, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        # Filled in by JwtVerifier.verify from the (unverified) token, for the log line.
        self.iss: Any = None
        self.kid: Any = None
        self.jti: Any = None


def allowed_algorithms(configured: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The configured algorithms we accept: asymmetric ones only (never `none`, never HS*)."""
    out = []
    for alg in configured:
        if alg in ASYMMETRIC_ALGORITHMS:
            if alg not in out:
                out.append(alg)
        else:
            log.warning("JWT algorithm %r in the configuration is ignored: only asymmetric "
                        "algorithms (%s) are ever accepted", alg, ", ".join(sorted(ASYMMETRIC_ALGORITHMS)))
    return tuple(out)


def _public_only(jwk: dict) -> dict:
    return {k: v for k, v in jwk.items() if k not in _PRIVATE_JWK_MEMBERS}


# PyJWT's algorithm object per accepted algorithm (signature checks: `verify(signing_input, key, sig)`).
_ALGORITHM_OBJECTS = {alg: jwt.get_algorithm_by_name(alg) for alg in ASYMMETRIC_ALGORITHMS}
_REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")


def _key_fits(jwk: dict, alg: str) -> bool:
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


class _StaticKeySource:
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
                log.warning("%s: key %r carries private key members; only its public part is used",
                            description, jwk["kid"])
            self._by_kid.setdefault(jwk["kid"], []).append(_public_only(jwk))
        if not self._by_kid:
            raise ValueError(f"{description}: no key with a 'kid'")

    @classmethod
    def from_file(cls, path: str | Path) -> "_StaticKeySource":
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read JWK Set file {p}: {exc}") from exc
        return cls(data, f"JWK Set file {p}")

    def candidates(self, kid: str) -> list[dict]:
        return list(self._by_kid.get(kid, ()))


class _RemoteKeySource:
    """A JWK Set fetched from a configured URL (PyJWKClient: cached 5 min, one refresh on an
    unknown kid at most every 30 s, short timeout, no redirects)."""

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.description = f"JWKS URL {url}"
        self.url = url
        self._client = jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=300, timeout=timeout_seconds,
                                       cooldown_duration=30,
                                       headers={"Accept": "application/json",
                                                "User-Agent": "anakinra-cds"})

    def candidates(self, kid: str) -> list[dict]:
        try:
            key = self._client.get_signing_key(kid)
        except jwt.exceptions.PyJWKClientConnectionError as exc:
            raise AuthError(f"could not fetch {self.description}: {type(exc).__name__}") from exc
        except jwt.PyJWKClientError:
            return []
        except jwt.PyJWTError as exc:   # e.g. PyJWKSetError: no usable keys in the set
            raise AuthError(f"unusable {self.description}: {exc}") from exc
        raw = getattr(key, "_jwk_data", None)
        return [_public_only(raw)] if isinstance(raw, dict) else []


@dataclass
class _IssuerTrust:
    iss: str
    default: _StaticKeySource | _RemoteKeySource | None
    by_jku: dict[str, _StaticKeySource | _RemoteKeySource] = field(default_factory=dict)


def _build_issuer(ti: TrustedIssuer, timeout: float) -> _IssuerTrust:
    if ti.jwks_file and ti.jwks_url:
        raise ValueError(f"trusted issuer {ti.iss}: set jwks_file or jwks_url, not both")
    default: _StaticKeySource | _RemoteKeySource | None = None
    if ti.jwks_file:
        default = _StaticKeySource.from_file(ti.jwks_file)
    elif ti.jwks_url:
        default = _RemoteKeySource(ti.jwks_url, timeout)
    by_jku: dict[str, _StaticKeySource | _RemoteKeySource] = {}
    for url in ti.jku_allow:
        if default is not None and isinstance(default, _RemoteKeySource) and url == default.url:
            by_jku[url] = default
        else:
            by_jku[url] = _RemoteKeySource(url, timeout)
    if default is None and not by_jku:
        raise ValueError(f"trusted issuer {ti.iss}: no key source (jwks_file, jwks_url or jku_allow)")
    return _IssuerTrust(ti.iss, default, by_jku)


def _unverified_parts(token: str) -> tuple[dict, dict]:
    """Header and claims of a compact JWS (already matched by _COMPACT_JWS: three base64url
    segments), NOT verified yet: they choose the issuer and the key, then the signature over the
    same bytes is verified and only then are the claims trusted. Parsed once, with no per-character
    check (the regex did it). Raises ValueError when not JSON objects."""
    header_seg, payload_seg, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_seg + "=" * (-len(header_seg) % 4)))
    claims = json.loads(base64.urlsafe_b64decode(payload_seg + "=" * (-len(payload_seg) % 4)))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("header and claims must be JSON objects")
    return header, claims


def _safe(value: Any, limit: int = 120) -> str:
    """A log-safe rendering of an untrusted value (repr: no control characters; truncated)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class JwtVerifier:
    """Verifies CDS Client JWTs. Thread-safe; build one per process."""

    def __init__(self, settings: Settings, replay_cache: ReplayCache, *, clock: Clock = time.time,
                 sandbox_jwks_file: str | Path = SANDBOX_JWKS_FILE,
                 max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS,
                 jwks_timeout_seconds: float = DEFAULT_JWKS_TIMEOUT_SECONDS) -> None:
        self._algorithms = allowed_algorithms(settings.jwt_algorithms)
        if not self._algorithms:
            raise ValueError("no usable JWT algorithm configured (CDS_JWT_ALGORITHMS); "
                             "CDS Hooks recommends ES384 and RS384")
        self._leeway = max(0, int(settings.jwt_leeway_seconds))
        self._tenant_allow = frozenset(settings.tenant_allow)
        self._replay = replay_cache
        self._clock = clock
        self._max_lifetime = int(max_lifetime_seconds)
        self._keys: dict[tuple, Any] = {}     # (alg, the JWK's members) -> public key object
        self._keys_lock = threading.Lock()
        self._issuers: dict[str, _IssuerTrust] = {}
        for ti in settings.trusted_issuers:
            if ti.iss in self._issuers:
                raise ValueError(f"trusted issuer {ti.iss} is configured twice")
            self._issuers[ti.iss] = _build_issuer(ti, jwks_timeout_seconds)
        if settings.allow_sandbox_issuer and SANDBOX_ISSUER not in self._issuers:
            pinned = _StaticKeySource.from_file(sandbox_jwks_file)
            # The sandbox names its jku; we accept that value and answer it from the pinned file.
            self._issuers[SANDBOX_ISSUER] = _IssuerTrust(SANDBOX_ISSUER, pinned, {SANDBOX_JKU: pinned})
            log.warning("JWTs from the public CDS Hooks Sandbox (%s) are accepted. Its private key is "
                        "public: anyone can mint such tokens. Demo use only.", SANDBOX_ISSUER)

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
        except (ValueError, RecursionError) as exc:     # not base64url JSON objects (or absurdly nested)
            raise AuthError(f"malformed JWT ({type(exc).__name__})") from exc
        seen["kid"] = header.get("kid")
        seen["iss"] = unverified.get("iss")
        seen["jti"] = unverified.get("jti")

        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthError(f"alg {_safe(alg)} not accepted")
        if "crit" in header:
            # RFC 7515 4.1.11: a JWS whose `crit` lists extensions the recipient does not understand is
            # invalid. This service understands none, so any `crit` is refused.
            raise AuthError(f"crit header names extensions this service does not understand: {_safe(header['crit'])}")
        typ = header.get("typ")
        if typ is None:
            raise AuthError("typ header missing")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise AuthError(f"typ {_safe(typ)} is not JWT")
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
                raise AuthError(f"jku {_safe(jku)} not on the allow-list of this issuer")
            source = trust.by_jku[jku]
        else:
            if trust.default is None:
                raise AuthError("token has no jku and the issuer has no configured JWK Set")
            source = trust.default

        fitting = [k for k in source.candidates(kid) if _key_fits(k, alg)]
        if not fitting:
            raise AuthError(f"no key for this kid and alg {alg} in {source.description}")
        try:
            key = self._public_key(fitting[0], alg)
        except jwt.PyJWTError as exc:
            raise AuthError(f"unusable key in {source.description} ({type(exc).__name__})") from exc
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            raise AuthError(f"RSA key shorter than {MIN_RSA_BITS} bits")

        # The signature over the bytes the header and claims above were read from, with PyJWT's
        # algorithm object for `alg` (for EC: raw r||s to DER, and the curve's hash). Calling it
        # directly, not jwt.decode, spares a second base64 and JSON parse of the same token and
        # PyJWT's option handling (measured: ~140 us of an ES384 check on a slow VM); the claims
        # jwt.decode would check are checked below, one by one.
        signing_input, _, signature_segment = token.rpartition(".")
        try:
            signature = base64.urlsafe_b64decode(signature_segment + "=" * (-len(signature_segment) % 4))
        except ValueError as exc:                       # a length base64 cannot have (4n + 1)
            raise AuthError("malformed JWT (signature)") from exc
        if not _ALGORITHM_OBJECTS[alg].verify(signing_input.encode("ascii"), key, signature):
            raise AuthError("bad signature")
        claims = unverified
        for name in _REQUIRED_CLAIMS:
            if claims.get(name) is None:
                raise AuthError(f"claim {name} missing")
        aud = claims["aud"]
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            raise AuthError("aud is neither a string nor an array of strings")
        if audience_url not in audiences:
            raise AuthError("aud does not name this endpoint")
        if "sub" in claims and not isinstance(claims["sub"], str):
            raise AuthError("sub is not a string")

        self._check_times(claims)

        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_ID_CHARS:
            raise AuthError("jti missing or invalid")

        if self._tenant_allow and "tenant" in claims:
            tenant = claims["tenant"]
            if not isinstance(tenant, str) or tenant not in self._tenant_allow:
                raise AuthError(f"tenant {_safe(tenant)} not allowed")

        # Last: only a fully valid token is recorded, so forged tokens cannot burn real jtis.
        try:
            replayed = self._replay.seen_before(jti, iss, int(math.ceil(claims["exp"])))
        except Exception as exc:
            log.error("JWT replay cache unavailable (%s): rejecting (fail closed)", type(exc).__name__)
            raise AuthError(f"replay cache unavailable ({type(exc).__name__})") from exc
        if replayed:
            raise AuthError("jti replayed")
        return claims

    def _public_key(self, jwk: dict, alg: str):
        """The key object of a JWK, built once per JWK content and alg (a JWK Set refresh that
        changes a key changes the content, so a new object is built)."""
        cache_key = (alg, tuple(sorted((k, repr(v)) for k, v in jwk.items())))
        key = self._keys.get(cache_key)
        if key is None:
            key = jwt.PyJWK(jwk, algorithm=alg).key
            with self._keys_lock:
                if len(self._keys) >= _MAX_CACHED_KEYS:
                    self._keys.clear()
                self._keys[cache_key] = key
        return key

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
        exp, iat = claims.get("exp"), claims.get("iat")
        if not _is_number(exp):
            raise AuthError("exp is not a number")
        if not _is_number(iat):
            raise AuthError("iat is not a number")
        now = self._clock()
        if exp <= now - self._leeway:
            raise AuthError("token expired")
        if iat > now + self._leeway:
            raise AuthError("iat is in the future")
        if "nbf" in claims:
            nbf = claims["nbf"]
            if not _is_number(nbf) or nbf > now + self._leeway:
                raise AuthError("nbf invalid or in the future")
        if exp - iat > self._max_lifetime:
            raise AuthError(f"token lifetime exp-iat exceeds {self._max_lifetime} s")


def _unauthorized() -> Response:
    # "401 Unauthorized without any additional information" (CDS Hooks best practice).
    return Response(b"", status=401, headers={"WWW-Authenticate": "Bearer"})


def install(app: Flask, settings: Settings, verifier: JwtVerifier | None = None) -> JwtVerifier | None:
    """Require a valid CDS Client JWT on every request except OPTIONS and EXEMPT_PATHS.

    The audience of a request is settings.external_base_url + request.path (never the Host
    header). Claims land in `flask.g.jwt_claims`. Returns the verifier (None when auth is off).
    """
    if not settings.auth_enabled:
        log.warning("AUTHENTICATION IS DISABLED: CDS Hooks JWTs are NOT checked and every caller is "
                    "trusted (CDS_AUTH=false). Never run like this with real patient data.")
        return None
    if verifier is None:
        verifier = JwtVerifier(settings, make_replay_cache(settings))
    if not verifier.issuers:
        log.warning("Authentication is on but no CDS Client is trusted (CDS_TRUSTED_ISSUERS is empty): "
                    "every request except OPTIONS, %s will be answered 401", ", ".join(sorted(EXEMPT_PATHS)))
    base = settings.external_base_url.rstrip("/")
    app.extensions["cds_jwt_verifier"] = verifier

    @app.before_request
    def require_cds_client_jwt():
        if request.method == "OPTIONS" or request.path in EXEMPT_PATHS or request.path.startswith(EXEMPT_PREFIXES):
            return None
        try:
            g.jwt_claims = verifier.verify(request.headers.get("Authorization"), base + request.path)
        except AuthError as exc:
            log.warning("401 %s %s: %s (iss=%s kid=%s jti=%s)", request.method, _safe(request.path),
                        exc.reason, _safe(exc.iss), _safe(exc.kid), _safe(exc.jti))
            return _unauthorized()
        return None

    return verifier
