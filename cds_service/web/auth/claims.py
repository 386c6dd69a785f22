"""The signature and the registered claims of a token whose key has been chosen.

Two paths behind one switch (`HAND_CHECKED_CLAIMS`, or `JwtVerifier(hand_checked_claims=...)`):
- `DecodedClaims`, the plain path: `jwt.decode` checks the signature against the algorithms
  allow-list, the required claims, `exp`/`iat`/`nbf` with leeway (on the verifier's clock), `iss`,
  `aud`, `sub` and `jti` types; its exceptions are mapped to the reasons logged.
- `HandCheckedClaims`, the fast path: the same checks written out, on the header and claims the
  verifier already parsed (PyJWT's algorithm object for the signature).
Both raise `AuthError` with the same reason for the same token (tests/web/auth/test_claims.py)
and return the claims. After either, the verifier checks that `exp` and `iat` are numbers, the
lifetime, the jti's format, the tenant and replay. Timings: benchmarks/README.md, "Speed seams".
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any, TypeGuard

import jwt
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

from .errors import AuthError

#: The switch: True (the default) checks by hand (the fast path), False with jwt.decode (the plain path).
HAND_CHECKED_CLAIMS = True

REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")

Clock = Callable[[], float]


def is_number(value: Any) -> TypeGuard[int | float]:
    """A JSON number usable as a NumericDate (not a bool, not NaN or infinite)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def signature_bytes(token: str) -> bytes:
    """The signature of a compact JWS (already matched as three base64url segments)."""
    segment = token.rpartition(".")[2]
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError as exc:  # a length base64 cannot have (4n + 1)
        raise AuthError("malformed JWT (signature)") from exc


class _ClockedPyJWT(jwt.PyJWT):
    """jwt.PyJWT with the time claims checked against an injected clock (PyJWT reads the system
    clock; the service's tests pin it). Overrides the three `_validate_*` hooks PyJWT calls with
    `now`; their presence is checked below, so a PyJWT that renames them fails at import, loudly."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    def _validate_iat(self, payload: dict[str, Any], now: float, leeway: float) -> None:
        super()._validate_iat(payload, self._clock(), leeway)

    def _validate_nbf(self, payload: dict[str, Any], now: float, leeway: float) -> None:
        super()._validate_nbf(payload, self._clock(), leeway)

    def _validate_exp(self, payload: dict[str, Any], now: float, leeway: float) -> None:
        super()._validate_exp(payload, self._clock(), leeway)


for _hook in ("_validate_iat", "_validate_nbf", "_validate_exp", "_validate_claims"):
    if not callable(getattr(jwt.PyJWT, _hook, None)):
        raise ImportError(f"PyJWT {jwt.__version__} has no {_hook}: the verifier's clock cannot be applied")


_DECODE_OPTIONS: jwt.types.Options = {
    "verify_signature": True,
    "verify_exp": True,
    "verify_nbf": True,
    "verify_iat": True,
    "verify_aud": True,
    "verify_iss": True,
    "verify_sub": True,
    "verify_jti": True,
    "require": list(REQUIRED_CLAIMS),
    "strict_aud": False,
}


def _strings(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(a, str) for a in value))


class DecodedClaims:
    """The plain path: `jwt.decode`."""

    def __init__(self, algorithms: tuple[str, ...], leeway: int, clock: Clock) -> None:
        self._algorithms = list(algorithms)
        self._leeway = leeway
        self._clock = clock
        self._jwt = _ClockedPyJWT(clock)

    def verify(
        self, token: str, key: Any, *, alg: str, iss: str, audience_url: str, unverified: dict, signature: bytes
    ) -> dict:
        try:
            return self._jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=audience_url,
                issuer=iss,
                leeway=self._leeway,
                options=_DECODE_OPTIONS,
            )
        except jwt.PyJWTError as exc:
            raise AuthError(self._reason(exc, unverified)) from exc

    def _reason(self, exc: jwt.PyJWTError, claims: dict) -> str:
        """The reason logged for a PyJWT rejection, worded as the hand checks word it. PyJWT checks
        the signature before any claim, so past InvalidSignatureError the claims read here are signed."""
        if isinstance(exc, jwt.InvalidSignatureError):
            return "bad signature"
        if isinstance(exc, jwt.MissingRequiredClaimError):
            if exc.claim == "aud" and claims.get("aud") is not None:  # PyJWT: an empty aud is a missing one
                return "aud does not name this endpoint"
            return f"claim {exc.claim} missing"
        if isinstance(exc, jwt.InvalidAudienceError):
            if _strings(claims.get("aud")):
                return "aud does not name this endpoint"
            return "aud is neither a string nor an array of strings"
        if isinstance(exc, InvalidSubjectError):
            return "sub is not a string"
        if isinstance(exc, InvalidJTIError):
            return "jti missing or invalid"
        if isinstance(
            exc, (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError, jwt.DecodeError)
        ):
            # PyJWT reads the time claims with int(): a claim that is no number is named as such.
            for name in ("exp", "iat"):
                if not is_number(claims.get(name)):
                    return f"{name} is not a number"
            if isinstance(exc, jwt.ExpiredSignatureError):
                return "token expired"
            if isinstance(exc, jwt.ImmatureSignatureError):
                # PyJWT checks iat before nbf.
                if claims["iat"] > self._clock() + self._leeway:
                    return "iat is in the future"
                return "nbf invalid or in the future"
            if "nbf" in claims and not is_number(claims["nbf"]):
                return "nbf invalid or in the future"
            return f"malformed JWT ({type(exc).__name__})"
        return f"invalid JWT ({type(exc).__name__})"


class HandCheckedClaims:
    """The fast path: the signature verified with PyJWT's algorithm object on the bytes already
    parsed, the claims checked one by one (no second base64 and JSON parse, no option handling)."""

    def __init__(self, algorithms: tuple[str, ...], leeway: int, clock: Clock) -> None:
        self._algorithm_objects = {alg: jwt.get_algorithm_by_name(alg) for alg in algorithms}
        self._leeway = leeway
        self._clock = clock

    def verify(
        self, token: str, key: Any, *, alg: str, iss: str, audience_url: str, unverified: dict, signature: bytes
    ) -> dict:
        signing_input = token.rpartition(".")[0]
        if not self._algorithm_objects[alg].verify(signing_input.encode("ascii"), key, signature):
            raise AuthError("bad signature")
        claims = unverified
        for name in REQUIRED_CLAIMS:
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
        exp, iat = claims["exp"], claims["iat"]
        if not is_number(exp):
            raise AuthError("exp is not a number")
        if not is_number(iat):
            raise AuthError("iat is not a number")
        now = self._clock()
        if exp <= now - self._leeway:
            raise AuthError("token expired")
        if iat > now + self._leeway:
            raise AuthError("iat is in the future")
        if "nbf" in claims:
            nbf = claims["nbf"]
            if not is_number(nbf) or nbf > now + self._leeway:
                raise AuthError("nbf invalid or in the future")
        if not isinstance(claims["jti"], str):
            raise AuthError("jti missing or invalid")
        return claims


def claims_checker(
    hand_checked: bool, algorithms: tuple[str, ...], leeway: int, clock: Clock
) -> DecodedClaims | HandCheckedClaims:
    return (HandCheckedClaims if hand_checked else DecodedClaims)(algorithms, leeway, clock)
