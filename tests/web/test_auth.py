"""Inbound JWT authentication (CDS Hooks "Trusting CDS Clients"): a negative matrix answered 401 with
an empty body, the positive paths (ES384/RS384 files, aud arrays, jku/JWKS URL, the pinned Sandbox
key), exemptions (OPTIONS, /health), auth off, replay, and what gets logged."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask, g

from cds_service.config import Settings, TrustedIssuer
from cds_service.web import auth
from cds_service.web.auth import SANDBOX_ISSUER, SANDBOX_JKU, SANDBOX_JWKS_FILE, AuthError, JwtVerifier, install
from cds_service.web.replay_cache import MemoryReplayCache
from tests.loopback import SilentListener
from tests.no_hang import finishes

try:  # tests/web may or may not be a package
    from . import jwt_keys as K
except ImportError:
    import jwt_keys as K

NOW = 1_800_000_000
LEEWAY = 30
BASE = "https://cds.test.example"
SERVICE_PATH = "/cds-services/anakinra-order-sign"
AUD = BASE + SERVICE_PATH
ISS = "https://ehr.test.example"
ISS_URL = "https://ehr-url.test.example"  # keys from a JWKS URL (loopback server)
AUTH_LOGGER = "cds_service.web.auth"


# -- loopback helpers ----------------------------------------------------------------------------


class JwksServer:
    """Serves one JWK Set at /jwks.json on 127.0.0.1 and counts the requests."""

    def __init__(self, jwk_set: dict) -> None:
        body = json.dumps(jwk_set).encode()
        outer = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                if self.path != "/jwks.json":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys():
    return {
        "es384": K.ec_key("ehr-es384"),
        "rs384": K.rsa_key("ehr-rs384"),
        "es256": K.ec_key("ehr-es256", "ES256"),
        "ps512": K.rsa_key("ehr-ps512", "PS512"),
        "impostor": K.ec_key("ehr-es384"),  # same kid as es384, different key
        "jku": K.ec_key("ehr-jku-es384"),
        "url": K.rsa_key("ehr-url-rs384"),
        "sandbox": K.sandbox_key(),
    }


@pytest.fixture(scope="module")
def listener():
    lst = SilentListener("/jwks.json")
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def jku_server(keys):
    srv = JwksServer(K.jwks(keys["jku"]))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def url_server(keys):
    srv = JwksServer(K.jwks(keys["url"]))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def jwks_file(keys, tmp_path_factory):
    path = tmp_path_factory.mktemp("jwks") / "ehr-jwks.json"
    path.write_text(json.dumps(K.jwks(keys["es384"], keys["rs384"], keys["es256"], keys["ps512"])))
    return str(path)


def make_settings(jwks_file, jku_server, url_server, tmp_path, **overrides) -> Settings:
    base = Settings(
        auth_enabled=True,
        external_base_url=BASE + "/",  # trailing slash on purpose: must be normalised
        trusted_issuers=(
            TrustedIssuer(iss=ISS, jwks_file=jwks_file, jku_allow=(jku_server.url,)),
            TrustedIssuer(iss=ISS_URL, jwks_url=url_server.url),
        ),
        allow_sandbox_issuer=True,
        # HS256 and none are configured on purpose: they must still never be accepted.
        jwt_algorithms=("ES384", "RS384", "HS256", "none"),
        jwt_leeway_seconds=LEEWAY,
        tenant_allow=("tenant-a",),
        var_dir=str(tmp_path),
    )
    return base.with_overrides(**overrides)


def make_app(settings: Settings, verifier: JwtVerifier | None) -> Flask:
    app = Flask("auth-test")

    @app.route(SERVICE_PATH, methods=["GET", "POST"])
    def service():
        claims = g.get("jwt_claims")
        return {"jti": claims["jti"] if claims else None}

    @app.post("/cds-services/other")
    def other():
        return {"ok": True}

    @app.get("/health")
    def health():
        return {"status": "ok"}

    install(app, settings, verifier)
    return app


@pytest.fixture
def settings(jwks_file, jku_server, url_server, tmp_path):
    return make_settings(jwks_file, jku_server, url_server, tmp_path)


@pytest.fixture
def verifier(settings):
    return JwtVerifier(settings, MemoryReplayCache(grace_seconds=LEEWAY, clock=lambda: NOW), clock=lambda: NOW)


@pytest.fixture
def client(settings, verifier):
    return make_app(settings, verifier).test_client()


def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _flip_last_signature_byte(token: str) -> str:
    head, payload, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[-1] ^= 0x01
    return f"{head}.{payload}.{_b64u(bytes(raw))}"


def good_claims(**extra) -> dict:
    return K.claims(ISS, AUD, NOW, **extra)


def without(d: dict, *names: str) -> dict:
    return {k: v for k, v in d.items() if k not in names}


# -- the negative matrix -------------------------------------------------------------------------
# name: (a fragment of the logged reason, a builder of the request kwargs for a POST to SERVICE_PATH).
# All must be 401 with an empty body, for the intended reason.

NEGATIVE = {
    "missing Authorization header": ("header missing", lambda k, lst: {}),
    "not a Bearer scheme": ("not 'Bearer", lambda k, lst: {"headers": {"Authorization": "Basic dXNlcjpwYXNz"}}),
    "Bearer without a token": ("not 'Bearer", lambda k, lst: {"headers": {"Authorization": "Bearer "}}),
    "malformed token": ("not a compact JWS", lambda k, lst: {"headers": bearer("not-a-jwt")}),
    "garbage segments": ("malformed JWT", lambda k, lst: {"headers": bearer("abc.def.ghi")}),
    "five segments (JWE shape)": ("not a compact JWS", lambda k, lst: {"headers": bearer("a.b.c.d.e")}),
    "header not a JSON object": (
        "malformed JWT",
        lambda k, lst: {"headers": bearer(_b64u(b"[1]") + "." + _b64u(json.dumps(good_claims()).encode()) + ".c2ln")},
    ),
    "claims not JSON": (
        "malformed JWT",
        lambda k, lst: {
            "headers": bearer(
                _b64u(json.dumps({"alg": "ES384", "typ": "JWT", "kid": k["es384"].kid}).encode())
                + "."
                + _b64u(b"not json")
                + ".c2ln"
            )
        },
    ),
    "absurdly nested header": (
        "malformed JWT",
        lambda k, lst: {
            "headers": bearer(
                _b64u(b"[" * 4000 + b"]" * 4000) + "." + _b64u(json.dumps(good_claims()).encode()) + ".c2ln"
            )
        },
    ),
    "alg none": (
        "alg 'none'",
        lambda k, lst: {
            "headers": bearer(K.unsigned_token({"alg": "none", "typ": "JWT", "kid": k["es384"].kid}, good_claims()))
        },
    ),
    "HS256 with the public key PEM as secret": (
        "alg 'HS256'",
        lambda k, lst: {
            "headers": bearer(
                K.hs256_token({"typ": "JWT", "kid": k["es384"].kid}, good_claims(), k["es384"].public_pem())
            )
        },
    ),
    "ES256 not configured": ("alg 'ES256'", lambda k, lst: {"headers": bearer(k["es256"].sign(good_claims()))}),
    "PS512 not configured": ("alg 'PS512'", lambda k, lst: {"headers": bearer(k["ps512"].sign(good_claims()))}),
    "ES384 header with the kid of an RSA key": (
        "no key for this kid",
        lambda k, lst: {"headers": bearer(k["impostor"].sign(good_claims(), headers={"kid": k["rs384"].kid}))},
    ),
    "unknown kid": (
        "no key for this kid",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(), headers={"kid": "nope"}))},
    ),
    "missing kid": (
        "kid header missing",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(), drop_headers=("kid",)))},
    ),
    "missing typ": (
        "typ header missing",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(), drop_headers=("typ",)))},
    ),
    "wrong typ": (
        "is not JWT",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(), headers={"typ": "at+jwt"}))},
    ),
    "untrusted iss": (
        "issuer not trusted",
        lambda k, lst: {"headers": bearer(k["es384"].sign(K.claims("https://evil.example", AUD, NOW)))},
    ),
    "iss missing": (
        "iss claim missing",
        lambda k, lst: {"headers": bearer(k["es384"].sign(without(good_claims(), "iss")))},
    ),
    "jku not on the allow-list (loopback listener)": (
        "not on the allow-list",
        lambda k, lst: {"headers": bearer(k["jku"].sign(good_claims(), headers={"jku": lst.url()}))},
    ),
    "sandbox iss with a foreign jku": (
        "not on the allow-list",
        lambda k, lst: {
            "headers": bearer(k["sandbox"].sign(K.claims(SANDBOX_ISSUER, AUD, NOW), headers={"jku": lst.url()}))
        },
    ),
    "sandbox iss signed by another key": (
        "bad signature",
        lambda k, lst: {
            "headers": bearer(
                K.SigningKey(K.SANDBOX_KID, "ES384", k["es384"].private_key).sign(K.claims(SANDBOX_ISSUER, AUD, NOW))
            )
        },
    ),
    "wrong aud": (
        "aud does not name",
        lambda k, lst: {
            "headers": bearer(k["es384"].sign(K.claims(ISS, "https://elsewhere.example" + SERVICE_PATH, NOW)))
        },
    ),
    "aud of another endpoint": (
        "aud does not name",
        lambda k, lst: {"headers": bearer(k["es384"].sign(K.claims(ISS, BASE + "/cds-services/other", NOW)))},
    ),
    "aud of the discovery endpoint": (
        "aud does not name",
        lambda k, lst: {"headers": bearer(k["es384"].sign(K.claims(ISS, BASE + "/cds-services", NOW)))},
    ),
    "aud array without this endpoint": (
        "aud does not name",
        lambda k, lst: {
            "headers": bearer(
                k["es384"].sign(K.claims(ISS, [BASE + "/cds-services", "https://elsewhere.example"], NOW))
            )
        },
    ),
    "aud missing": (
        "claim aud missing",
        lambda k, lst: {"headers": bearer(k["es384"].sign(without(good_claims(), "aud")))},
    ),
    "aud follows a spoofed Host header": (
        "aud does not name",
        lambda k, lst: {
            "headers": bearer(k["es384"].sign(K.claims(ISS, "https://evil.example" + SERVICE_PATH, NOW))),
            "base_url": "https://evil.example",
        },
    ),
    "expired": (
        "expired",
        lambda k, lst: {"headers": bearer(k["es384"].sign(K.claims(ISS, AUD, NOW - 400, lifetime=300)))},
    ),
    "iat in the future": (
        "iat is in the future",
        lambda k, lst: {"headers": bearer(k["es384"].sign(K.claims(ISS, AUD, NOW + 120)))},
    ),
    "nbf in the future": ("nbf", lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(nbf=NOW + 120)))}),
    "lifetime over an hour": (
        "lifetime",
        lambda k, lst: {"headers": bearer(k["es384"].sign(K.claims(ISS, AUD, NOW, lifetime=86_400)))},
    ),
    "exp is a string": (
        "exp is not a number",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(exp=str(NOW + 300))))},
    ),
    "missing exp": (
        "claim exp missing",
        lambda k, lst: {"headers": bearer(k["es384"].sign(without(good_claims(), "exp")))},
    ),
    "missing iat": (
        "claim iat missing",
        lambda k, lst: {"headers": bearer(k["es384"].sign(without(good_claims(), "iat")))},
    ),
    "missing jti": (
        "claim jti missing",
        lambda k, lst: {"headers": bearer(k["es384"].sign(without(good_claims(), "jti")))},
    ),
    "empty jti": ("jti missing or invalid", lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(jti="")))}),
    "bad signature (same kid, other key)": (
        "bad signature",
        lambda k, lst: {"headers": bearer(k["impostor"].sign(good_claims()))},
    ),
    "tampered payload": (
        "bad signature",
        lambda k, lst: {
            "headers": bearer(
                K.tamper_payload(k["es384"].sign(K.claims(ISS, BASE + "/cds-services/other", NOW)), aud=AUD)
            )
        },
    ),
    "signature of an impossible base64 length": (
        "malformed JWT (signature)",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims()) + "AAAAA")},
    ),
    "signature cut short": ("bad signature", lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims())[:-8])}),
    "signature moved to another token": (
        "bad signature",
        lambda k, lst: {
            "headers": bearer(
                k["es384"].sign(good_claims()).rsplit(".", 1)[0]
                + "."
                + k["es384"].sign(good_claims()).rsplit(".", 1)[1]
            )
        },
    ),
    "aud a number": ("aud is neither", lambda k, lst: {"headers": bearer(k["es384"].sign(K.claims(ISS, 42, NOW)))}),
    "aud array with a non-string": (
        "aud is neither",
        lambda k, lst: {"headers": bearer(k["es384"].sign(K.claims(ISS, [AUD, 7], NOW)))},
    ),
    "aud null": ("claim aud missing", lambda k, lst: {"headers": bearer(k["es384"].sign(K.claims(ISS, None, NOW)))}),
    "sub not a string": (
        "sub is not a string",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(sub=12)))},
    ),
    "RS384 signature with a byte flipped": (
        "bad signature",
        lambda k, lst: {"headers": bearer(_flip_last_signature_byte(k["rs384"].sign(good_claims())))},
    ),
    "crit naming an extension the service does not understand (RFC 7515 4.1.11)": (
        "crit header",
        lambda k, lst: {
            "headers": bearer(
                k["es384"].sign(good_claims(), headers={"crit": ["urn:example:policy"], "urn:example:policy": "x"})
            )
        },
    ),
    "crit naming b64 (RFC 7797, not supported)": (
        "crit header",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(), headers={"crit": ["b64"], "b64": True}))},
    ),
    "crit empty": (
        "crit header",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(), headers={"crit": []}))},
    ),
    "tenant not allowed": (
        "tenant 'tenant-b'",
        lambda k, lst: {"headers": bearer(k["es384"].sign(good_claims(tenant="tenant-b")))},
    ),
}


@pytest.mark.parametrize("case", list(NEGATIVE))
def test_negative_matrix_is_401_with_empty_body(case, client, keys, listener, jku_server, caplog):
    expected_reason, build = NEGATIVE[case]
    kwargs = build(keys, listener)
    caplog.set_level(logging.WARNING, logger=AUTH_LOGGER)
    before = listener.connections()
    resp = client.post(SERVICE_PATH, json={"hook": "order-sign"}, **kwargs)
    assert resp.status_code == 401, case
    assert resp.data == b""
    assert resp.headers.get("WWW-Authenticate") == "Bearer"
    # Nothing ever reached the listener that stands in for a foreign jku.
    assert listener.connections() == before
    # One warning with a reason; the token itself is never logged.
    warnings = [r for r in caplog.records if r.name == AUTH_LOGGER and r.levelno == logging.WARNING]
    assert warnings and "401 POST" in warnings[-1].getMessage()
    assert expected_reason in warnings[-1].getMessage()  # rejected for the intended reason
    token = kwargs.get("headers", {}).get("Authorization", "").removeprefix("Bearer ").strip()
    secret_parts = [token] + [part for part in token.split(".") if len(part) >= 16]
    for record in caplog.records:
        text = record.getMessage()
        assert not any(part in text for part in secret_parts if len(part) >= 16)


def test_matrix_covers_the_required_cases():
    assert len(NEGATIVE) >= 15


def test_foreign_jku_is_never_contacted(verifier, keys, listener):
    before = listener.connections()
    token = keys["jku"].sign(good_claims(), headers={"jku": listener.url()})
    with pytest.raises(AuthError, match="jku"):
        verifier.verify(f"Bearer {token}", AUD)
    assert listener.connections() == before


# -- positive paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["es384", "rs384"])
def test_valid_token_from_jwks_file(client, keys, key_name):
    c = good_claims()
    resp = client.post(SERVICE_PATH, json={}, headers=bearer(keys[key_name].sign(c)))
    assert resp.status_code == 200
    assert resp.get_json() == {"jti": c["jti"]}  # claims reached flask.g


def test_aud_as_array(client, keys):
    c = K.claims(ISS, [BASE + "/cds-services", AUD], NOW)
    assert client.post(SERVICE_PATH, json={}, headers=bearer(keys["es384"].sign(c))).status_code == 200


def test_leeway_accepts_just_expired_and_slightly_early(client, keys):
    late = K.claims(ISS, AUD, NOW - 300 - LEEWAY + 5, lifetime=300)
    early = K.claims(ISS, AUD, NOW + LEEWAY - 5)
    for c in (late, early):
        assert client.post(SERVICE_PATH, json={}, headers=bearer(keys["es384"].sign(c))).status_code == 200


def test_tenant_allowed_or_absent(client, keys):
    for c in (good_claims(tenant="tenant-a"), good_claims()):
        assert client.post(SERVICE_PATH, json={}, headers=bearer(keys["es384"].sign(c))).status_code == 200


def test_sub_is_not_required_but_allowed(client, keys):
    c = good_claims(sub="client-id")
    assert client.post(SERVICE_PATH, json={}, headers=bearer(keys["es384"].sign(c))).status_code == 200


def test_allow_listed_jku_is_fetched_once_and_cached(client, keys, jku_server):
    hits = jku_server.hits
    for _ in range(3):
        token = keys["jku"].sign(good_claims(), headers={"jku": jku_server.url})
        assert client.post(SERVICE_PATH, json={}, headers=bearer(token)).status_code == 200
    assert jku_server.hits - hits <= 1  # cached (module-scoped server: may be warm already)


def test_jwks_url_issuer(client, keys, url_server):
    token = keys["url"].sign(K.claims(ISS_URL, AUD, NOW))
    assert client.post(SERVICE_PATH, json={}, headers=bearer(token)).status_code == 200
    assert url_server.hits >= 1


def test_jwks_url_unknown_kid_is_401(client, keys):
    token = K.rsa_key("not-published", "RS384").sign(K.claims(ISS_URL, AUD, NOW))
    assert client.post(SERVICE_PATH, json={}, headers=bearer(token)).status_code == 401


def test_unreachable_jwks_url_is_401_after_its_timeout(settings, keys, listener, monkeypatch):
    """A JWKS URL that accepts the connection and never answers: the key fetch is made with the configured
    timeout, which ends it, and the call is a 401 (no assertion on how long it took)."""
    timeouts: list[float] = []
    real_open = urllib.request.OpenerDirector.open

    def open_(self, request, *args, **kwargs):
        if getattr(request, "full_url", request) == listener.url("/jwks.json"):
            timeouts.append(kwargs.get("timeout", args[1] if len(args) > 1 else None))
        return real_open(self, request, *args, **kwargs)

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", open_)
    s = settings.with_overrides(trusted_issuers=(TrustedIssuer(iss=ISS_URL, jwks_url=listener.url()),))
    v = JwtVerifier(s, MemoryReplayCache(), clock=lambda: NOW, jwks_timeout_seconds=0.3)
    app = make_app(s, v).test_client()
    before = listener.connections()
    resp = finishes(app.post, SERVICE_PATH, json={}, headers=bearer(keys["url"].sign(K.claims(ISS_URL, AUD, NOW))))
    assert resp.status_code == 401 and resp.data == b""
    assert timeouts == [0.3] and listener.connections() == before + 1


def test_no_trusted_issuer_warns_and_rejects(settings, keys, caplog):
    caplog.set_level(logging.WARNING, logger=AUTH_LOGGER)
    s = settings.with_overrides(trusted_issuers=(), allow_sandbox_issuer=False)
    app = make_app(s, JwtVerifier(s, MemoryReplayCache(), clock=lambda: NOW)).test_client()
    assert any("no CDS Client is trusted" in r.getMessage() for r in caplog.records)
    assert app.post(SERVICE_PATH, json={}, headers=bearer(keys["es384"].sign(good_claims()))).status_code == 401


def _block_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("no network access expected")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("with_jku", [True, False])
def test_sandbox_token_verifies_against_pinned_jwks_without_network(client, keys, monkeypatch, with_jku):
    # Minted like the sandbox does (jwt-generator.js): ES384, typ JWT, its kid, its jku.
    headers = {"jku": SANDBOX_JKU} if with_jku else {}
    token = keys["sandbox"].sign(K.claims(SANDBOX_ISSUER, AUD, NOW), headers=headers)
    _block_network(monkeypatch)
    assert client.post(SERVICE_PATH, json={}, headers=bearer(token)).status_code == 200


def test_pinned_sandbox_jwks_is_the_published_key(keys):
    pinned = json.loads(SANDBOX_JWKS_FILE.read_text())
    assert pinned == {
        "keys": [
            {
                "kty": "EC",
                "use": "sig",
                "crv": "P-384",
                "kid": K.SANDBOX_KID,
                "x": K.SANDBOX_PUBLIC_X,
                "y": K.SANDBOX_PUBLIC_Y,
                "alg": "ES384",
            }
        ]
    }
    derived = keys["sandbox"].public_jwk()
    assert (derived["x"], derived["y"]) == (K.SANDBOX_PUBLIC_X, K.SANDBOX_PUBLIC_Y)


def test_pinned_file_is_what_the_verifier_uses_for_the_sandbox(settings, keys, tmp_path):
    # Point the sandbox issuer at another pinned file: the real sandbox key must then fail,
    # and a key from that file must pass. So the verifier reads the pinned file, nothing else.
    other = K.ec_key(K.SANDBOX_KID)
    alt = tmp_path / "alt-sandbox.json"
    alt.write_text(json.dumps(K.jwks(other)))
    v = JwtVerifier(settings, MemoryReplayCache(), clock=lambda: NOW, sandbox_jwks_file=alt)
    with pytest.raises(AuthError, match="signature"):
        v.verify("Bearer " + keys["sandbox"].sign(K.claims(SANDBOX_ISSUER, AUD, NOW)), AUD)
    assert v.verify("Bearer " + other.sign(K.claims(SANDBOX_ISSUER, AUD, NOW)), AUD)["iss"] == SANDBOX_ISSUER


def test_sandbox_issuer_rejected_unless_allowed(jwks_file, jku_server, url_server, tmp_path, keys):
    s = make_settings(jwks_file, jku_server, url_server, tmp_path, allow_sandbox_issuer=False)
    v = JwtVerifier(s, MemoryReplayCache(), clock=lambda: NOW)
    app = make_app(s, v).test_client()
    token = keys["sandbox"].sign(K.claims(SANDBOX_ISSUER, AUD, NOW), headers={"jku": SANDBOX_JKU})
    resp = app.post(SERVICE_PATH, json={}, headers=bearer(token))
    assert resp.status_code == 401 and resp.data == b""


# -- replay --------------------------------------------------------------------------------------


def test_replayed_jti_is_401(client, keys):
    token = keys["es384"].sign(good_claims())
    assert client.post(SERVICE_PATH, json={}, headers=bearer(token)).status_code == 200
    resp = client.post(SERVICE_PATH, json={}, headers=bearer(token))
    assert resp.status_code == 401 and resp.data == b""


def test_same_jti_from_another_issuer_is_not_a_replay(client, keys):
    c1 = good_claims(jti="shared-jti")
    c2 = K.claims(ISS_URL, AUD, NOW, jti="shared-jti")
    assert client.post(SERVICE_PATH, json={}, headers=bearer(keys["es384"].sign(c1))).status_code == 200
    assert client.post(SERVICE_PATH, json={}, headers=bearer(keys["url"].sign(c2))).status_code == 200


def test_rejected_token_does_not_burn_its_jti(client, keys):
    bad = K.claims(ISS, BASE + "/cds-services/other", NOW, jti="jti-1")
    good = good_claims(jti="jti-1")
    assert client.post(SERVICE_PATH, json={}, headers=bearer(keys["es384"].sign(bad))).status_code == 401
    assert client.post(SERVICE_PATH, json={}, headers=bearer(keys["es384"].sign(good))).status_code == 200


def test_replay_cache_failure_fails_closed(settings, keys):
    class Broken:
        def seen_before(self, jti, iss, exp):
            raise OSError("disk gone")

    app = make_app(settings, JwtVerifier(settings, Broken(), clock=lambda: NOW)).test_client()
    resp = app.post(SERVICE_PATH, json={}, headers=bearer(keys["es384"].sign(good_claims())))
    assert resp.status_code == 401 and resp.data == b""


# -- exemptions, auth off, configuration ---------------------------------------------------------


def test_options_preflight_needs_no_auth(client):
    resp = client.options(SERVICE_PATH)
    assert resp.status_code == 200


def test_health_needs_no_auth_but_other_paths_do(client):
    assert client.get("/health").status_code == 200
    assert client.get(SERVICE_PATH).status_code == 401


def test_auth_disabled_lets_requests_through_and_warns_once(settings, caplog):
    caplog.set_level(logging.WARNING, logger=AUTH_LOGGER)
    app = make_app(settings.with_overrides(auth_enabled=False), None).test_client()
    assert app.post(SERVICE_PATH, json={}).status_code == 200
    assert app.post(SERVICE_PATH, json={}).status_code == 200
    loud = [r for r in caplog.records if "AUTHENTICATION IS DISABLED" in r.getMessage()]
    assert len(loud) == 1 and loud[0].levelno == logging.WARNING


def test_hmac_and_none_are_dropped_from_the_configuration(verifier):
    assert verifier.algorithms == ("ES384", "RS384")


def test_only_symmetric_algorithms_configured_is_a_startup_error(settings):
    with pytest.raises(ValueError, match="algorithm"):
        JwtVerifier(settings.with_overrides(jwt_algorithms=("HS256", "none")), MemoryReplayCache())


def test_issuer_without_key_source_is_a_startup_error(settings):
    with pytest.raises(ValueError, match="no key source"):
        JwtVerifier(settings.with_overrides(trusted_issuers=(TrustedIssuer(iss=ISS),)), MemoryReplayCache())


def test_install_builds_a_sqlite_replay_cache_from_settings(settings, keys, tmp_path):
    app = Flask("auth-default")

    @app.post(SERVICE_PATH)
    def service():
        return {"jti": g.jwt_claims["jti"]}

    verifier = install(app, settings)
    assert isinstance(verifier, JwtVerifier)
    assert (tmp_path / "replay.sqlite").exists()
    # Real clock here: mint a token valid now.
    now = int(time.time())
    token = keys["es384"].sign(K.claims(ISS, AUD, now))
    c = app.test_client()
    assert c.post(SERVICE_PATH, json={}, headers=bearer(token)).status_code == 200
    assert c.post(SERVICE_PATH, json={}, headers=bearer(token)).status_code == 401


def test_unexpected_error_is_a_401_not_a_500(settings, keys, monkeypatch, caplog):
    v = JwtVerifier(settings, MemoryReplayCache(), clock=lambda: NOW)
    monkeypatch.setattr(auth.JwtVerifier, "_check_times", lambda self, claims: 1 / 0)
    app = make_app(settings, v).test_client()
    token = keys["es384"].sign(good_claims())
    caplog.set_level(logging.WARNING, logger=AUTH_LOGGER)
    resp = app.post(SERVICE_PATH, json={}, headers=bearer(token))
    assert resp.status_code == 401 and resp.data == b""
    for record in caplog.records:
        assert token not in record.getMessage()
