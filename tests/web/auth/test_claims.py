"""The switch in `cds_service.web.auth.claims`: the plain path (`jwt.decode`) and the hand-checked fast
path accept the same tokens, and reject the same tokens for the same logged reason."""

from __future__ import annotations

import json

import pytest

from cds_service.config import Settings, TrustedIssuer
from cds_service.web.auth import AuthError, JwtVerifier
from cds_service.web.auth import claims as claims_paths
from cds_service.web.replay_cache import MemoryReplayCache
from tests.web import jwt_keys as K

NOW = 1_800_000_000  # after the machine's clock on purpose: PyJWT must read the verifier's clock
LEEWAY = 30
AUD = "https://cds.test.example/cds-services/anakinra-order-sign"
ISS = "https://ehr.test.example"


@pytest.fixture(scope="module")
def keys():
    return {
        "es384": K.ec_key("paths-es384"),
        "rs384": K.rsa_key("paths-rs384"),
        "other": K.ec_key("paths-es384"),
    }  # same kid as es384, another key


@pytest.fixture
def verifiers(keys, tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(K.jwks(keys["es384"], keys["rs384"])))
    settings = Settings(
        auth_enabled=True,
        external_base_url="https://cds.test.example",
        trusted_issuers=(TrustedIssuer(iss=ISS, jwks_file=str(jwks)),),
        jwt_algorithms=("ES384", "RS384"),
        jwt_leeway_seconds=LEEWAY,
        tenant_allow=("tenant-a",),
        var_dir=str(tmp_path),
    )

    def make(hand_checked: bool) -> JwtVerifier:
        return JwtVerifier(
            settings,
            MemoryReplayCache(grace_seconds=LEEWAY, clock=lambda: NOW),
            clock=lambda: NOW,
            hand_checked_claims=hand_checked,
        )

    return {"plain": make(False), "fast": make(True)}


def good(**extra) -> dict:
    return K.claims(ISS, AUD, NOW, **extra)


def without(name: str) -> dict:
    c = good()
    del c[name]
    return c


def _flip(token: str) -> str:
    head, payload, sig = token.split(".")
    raw = bytearray(K.b64url_decode(sig))
    raw[-1] ^= 0x01
    return f"{head}.{payload}.{K.b64url(bytes(raw))}"


# name: a builder of the token from the keys; None in EXPECTED: accepted.
CASES = {
    "valid ES384": (lambda k: k["es384"].sign(good()), None),
    "valid RS384": (lambda k: k["rs384"].sign(good()), None),
    "valid, aud array, sub, nbf, tenant": (
        lambda k: k["es384"].sign(
            K.claims(ISS, ["https://elsewhere.example", AUD], NOW, sub="client", nbf=NOW - 5, tenant="tenant-a")
        ),
        None,
    ),
    "valid within the leeway (just expired, slightly early)": (
        lambda k: k["es384"].sign(K.claims(ISS, AUD, NOW - 300 - LEEWAY + 5, lifetime=300)),
        None,
    ),
    "iat slightly early": (lambda k: k["es384"].sign(K.claims(ISS, AUD, NOW + LEEWAY - 5)), None),
    "expired": (lambda k: k["es384"].sign(K.claims(ISS, AUD, NOW - 400, lifetime=300)), "token expired"),
    "expired exactly at the leeway": (
        lambda k: k["es384"].sign(K.claims(ISS, AUD, NOW - LEEWAY - 300, lifetime=300)),
        "token expired",
    ),
    "wrong aud": (
        lambda k: k["es384"].sign(K.claims(ISS, "https://elsewhere.example/x", NOW)),
        "aud does not name this endpoint",
    ),
    "aud array without this endpoint": (
        lambda k: k["es384"].sign(K.claims(ISS, ["https://a.example"], NOW)),
        "aud does not name this endpoint",
    ),
    "aud empty string": (lambda k: k["es384"].sign(K.claims(ISS, "", NOW)), "aud does not name this endpoint"),
    "aud empty array": (lambda k: k["es384"].sign(K.claims(ISS, [], NOW)), "aud does not name this endpoint"),
    "aud a number": (
        lambda k: k["es384"].sign(K.claims(ISS, 42, NOW)),
        "aud is neither a string nor an array of strings",
    ),
    "aud array with a number": (
        lambda k: k["es384"].sign(K.claims(ISS, [AUD, 7], NOW)),
        "aud is neither a string nor an array of strings",
    ),
    "wrong iss": (lambda k: k["es384"].sign(K.claims("https://evil.example", AUD, NOW)), "issuer not trusted"),
    "bad signature (other key, same kid)": (lambda k: k["other"].sign(good()), "bad signature"),
    "bad signature (RS384, a byte flipped)": (lambda k: _flip(k["rs384"].sign(good())), "bad signature"),
    "tampered payload": (lambda k: K.tamper_payload(k["es384"].sign(good()), aud=[AUD, "x"]), "bad signature"),
    "empty signature": (lambda k: k["es384"].sign(good()).rsplit(".", 1)[0] + ".", "bad signature"),
    "alg none": (
        lambda k: K.unsigned_token({"alg": "none", "typ": "JWT", "kid": k["es384"].kid}, good()),
        "alg 'none' not accepted",
    ),
    "missing iss": (lambda k: k["es384"].sign(without("iss")), "iss claim missing or not a string"),
    "missing aud": (lambda k: k["es384"].sign(without("aud")), "claim aud missing"),
    "aud null": (lambda k: k["es384"].sign(K.claims(ISS, None, NOW)), "claim aud missing"),
    "missing exp": (lambda k: k["es384"].sign(without("exp")), "claim exp missing"),
    "missing iat": (lambda k: k["es384"].sign(without("iat")), "claim iat missing"),
    "missing jti": (lambda k: k["es384"].sign(without("jti")), "claim jti missing"),
    "future iat": (lambda k: k["es384"].sign(K.claims(ISS, AUD, NOW + 120)), "iat is in the future"),
    "future nbf": (lambda k: k["es384"].sign(good(nbf=NOW + 120)), "nbf invalid or in the future"),
    "nbf a string": (lambda k: k["es384"].sign(good(nbf="soon")), "nbf invalid or in the future"),
    "exp a numeric string": (lambda k: k["es384"].sign(good(exp=str(NOW + 300))), "exp is not a number"),
    "exp a word": (lambda k: k["es384"].sign(good(exp="later")), "exp is not a number"),
    "exp true": (lambda k: k["es384"].sign(good(exp=True)), "exp is not a number"),
    "exp NaN": (lambda k: k["es384"].sign(good(exp=float("nan"))), "exp is not a number"),
    "iat a string": (lambda k: k["es384"].sign(good(iat="now")), "iat is not a number"),
    "iat true": (lambda k: k["es384"].sign(good(iat=True)), "iat is not a number"),
    "lifetime over an hour": (
        lambda k: k["es384"].sign(K.claims(ISS, AUD, NOW, lifetime=7200)),
        "token lifetime exp-iat exceeds 3600 s",
    ),
    "sub a number": (lambda k: k["es384"].sign(good(sub=12)), "sub is not a string"),
    "jti empty": (lambda k: k["es384"].sign(good(jti="")), "jti missing or invalid"),
    "jti a number": (lambda k: k["es384"].sign(good(jti=12)), "jti missing or invalid"),
    "tenant not allowed": (lambda k: k["es384"].sign(good(tenant="tenant-b")), "tenant 'tenant-b' not allowed"),
}


def _outcome(verifier: JwtVerifier, token: str):
    try:
        return ("accepted", verifier.verify(f"Bearer {token}", AUD))
    except AuthError as exc:
        return ("rejected", exc.reason)


@pytest.mark.parametrize("case", list(CASES))
def test_both_paths_give_the_same_answer(case, keys, verifiers):
    build, expected_reason = CASES[case]
    token = build(keys)
    plain, fast = _outcome(verifiers["plain"], token), _outcome(verifiers["fast"], token)
    assert plain == fast
    if expected_reason is None:
        assert plain[0] == "accepted"
    else:
        assert plain == ("rejected", expected_reason)


def test_both_paths_reject_a_replay(keys, verifiers):
    token = keys["es384"].sign(good())
    for verifier in verifiers.values():
        assert _outcome(verifier, token)[0] == "accepted"
        assert _outcome(verifier, token) == ("rejected", "jti replayed")


def test_the_plain_path_is_jwt_decode_on_the_verifiers_clock(keys, verifiers, monkeypatch):
    """The plain path is one jwt.decode call with the audience, issuer, leeway, algorithms allow-list and
    required claims; the fast path makes none. (The cases above pin the clock to NOW, after the
    machine's clock: "expired" and "future iat" show that PyJWT reads the verifier's clock.)"""
    calls = []
    original = claims_paths._ClockedPyJWT.decode

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(claims_paths._ClockedPyJWT, "decode", spy)
    assert _outcome(verifiers["plain"], keys["es384"].sign(good()))[0] == "accepted"
    assert _outcome(verifiers["fast"], keys["es384"].sign(good()))[0] == "accepted"
    assert len(calls) == 1
    assert calls[0]["audience"] == AUD and calls[0]["issuer"] == ISS and calls[0]["leeway"] == LEEWAY
    assert calls[0]["algorithms"] == ["ES384", "RS384"]
    assert calls[0]["options"]["require"] == ["iss", "aud", "exp", "iat", "jti"]


def test_the_switch_chooses_the_path(verifiers):
    assert isinstance(verifiers["plain"]._signed_claims, claims_paths.DecodedClaims)
    assert isinstance(verifiers["fast"]._signed_claims, claims_paths.HandCheckedClaims)
