"""Test key helpers: generated signing keys, JWK Sets, and hand-made (hostile) tokens.

The CDS Hooks Sandbox key below is the sandbox's *published* demo key (cds-hooks/sandbox,
keys/jwk-keypair.json, "the private key is exposed on the repository"). It is public on purpose
so that anyone can test against the sandbox; it protects nothing. We use it to prove that a token
minted exactly like the sandbox mints them verifies against our pinned JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_PUBLIC_X = "dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB"
SANDBOX_PUBLIC_Y = "Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy"
# Published private scalar of the sandbox demo key (see the module docstring).
_SANDBOX_PUBLISHED_D = "yOcYl9QzMKnBFUiPZKBijDV_lsEtn6oWFVOqtFyXbY_-V63WCBYYdxsLo9Pclr84"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_json(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


@dataclass
class SigningKey:
    kid: str
    alg: str
    private_key: Any
    jwk_extra: dict = field(default_factory=dict)

    def public_jwk(self) -> dict:
        pub = self.private_key.public_key()
        if isinstance(pub, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(pub, as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(pub, as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": self.alg})
        jwk.update(self.jwk_extra)
        return jwk

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(
        self, claims: dict, *, headers: dict | None = None, alg: str | None = None, drop_headers: tuple[str, ...] = ()
    ) -> str:
        """A JWT signed with this key. PyJWT adds `typ: JWT`; headers can add/override,
        drop_headers removes (e.g. 'typ', 'kid') by re-signing by hand."""
        hdr = {"kid": self.kid, "typ": "JWT"}
        hdr.update(headers or {})
        algorithm = alg or self.alg
        if not drop_headers:
            return jwt.encode(claims, self.private_key, algorithm=algorithm, headers=hdr)
        hdr = {"alg": algorithm, **hdr}
        for name in drop_headers:
            hdr.pop(name, None)
        signing_input = f"{b64url_json(hdr)}.{b64url_json(claims)}".encode("ascii")
        alg_obj = jwt.get_algorithm_by_name(algorithm)
        signature = alg_obj.sign(signing_input, alg_obj.prepare_key(self.private_key))
        return f"{signing_input.decode('ascii')}.{b64url(signature)}"


def ec_key(kid: str, alg: str = "ES384") -> SigningKey:
    curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
    return SigningKey(kid, alg, ec.generate_private_key(curve))


def rsa_key(kid: str, alg: str = "RS384", bits: int = 2048) -> SigningKey:
    return SigningKey(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=bits))


def sandbox_key() -> SigningKey:
    d = int.from_bytes(b64url_decode(_SANDBOX_PUBLISHED_D), "big")
    return SigningKey(SANDBOX_KID, "ES384", ec.derive_private_key(d, ec.SECP384R1()))


def jwks(*keys: SigningKey | dict) -> dict:
    return {"keys": [k.public_jwk() if isinstance(k, SigningKey) else k for k in keys]}


def claims(iss: str, aud: str | list[str], now: int, *, lifetime: int = 300, **extra) -> dict:
    out = {"iss": iss, "aud": aud, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    out.update(extra)
    return out


def unsigned_token(header: dict, payload: dict) -> str:
    """alg none style: an empty signature."""
    return f"{b64url_json(header)}.{b64url_json(payload)}."


def hs256_token(header: dict, payload: dict, secret: bytes) -> str:
    """HMAC-signed by hand (PyJWT refuses to use a PEM public key as an HMAC secret)."""
    hdr = {"alg": "HS256", **header}
    signing_input = f"{b64url_json(hdr)}.{b64url_json(payload)}".encode("ascii")
    sig = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode('ascii')}.{b64url(sig)}"


def tamper_payload(token: str, **changes) -> str:
    """Replace claims in the payload, keeping the original signature (so it no longer matches)."""
    head, payload, sig = token.split(".")
    data = json.loads(b64url_decode(payload))
    data.update(changes)
    return f"{head}.{b64url_json(data)}.{sig}"
