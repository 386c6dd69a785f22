"""A benchmark EHR identity: a signing key, its JWK Set file, and CDS Hooks client JWTs.

The service runs with authentication ON (production profile). The benchmark plays a trusted EHR:
`CDS_TRUSTED_ISSUERS` names `BENCH_ISSUER` with a `jwks_file` written here, and every request
carries a fresh token (unique `jti`: the service's replay cache rejects a reused one) whose `aud`
is the service's external base URL plus the request path, as `cds_service.web.auth` checks.
Tokens are signed before the timed phase so the signing cost is never measured.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

BENCH_ISSUER = "https://ehr.benchmark.invalid"
TOKEN_LIFETIME_SECONDS = 1800  # the service accepts at most 3600 (exp - iat)


@dataclass
class SigningKey:
    alg: str
    kid: str
    private_key: object

    def public_jwk(self) -> dict:
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[self.alg].to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return jwk


def make_key(alg: str = "ES384") -> SigningKey:
    if alg == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
    elif alg == "RS384":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise ValueError(f"unsupported benchmark JWT algorithm {alg!r} (ES384 or RS384)")
    return SigningKey(alg=alg, kid=f"bench-{alg.lower()}-{uuid.uuid4().hex[:8]}", private_key=private)


def write_jwks(key: SigningKey, path: Path) -> Path:
    path.write_text(json.dumps({"keys": [key.public_jwk()]}), encoding="utf-8")
    return path


def trusted_issuers_env(jwks_file: Path) -> str:
    """The value of CDS_TRUSTED_ISSUERS for the benchmark EHR."""
    return json.dumps([{"iss": BENCH_ISSUER, "jwks_file": str(jwks_file)}])


def mint(key: SigningKey, audience: str, now: float | None = None) -> str:
    iat = int(now if now is not None else time.time())
    claims = {
        "iss": BENCH_ISSUER,
        "aud": audience,
        "iat": iat,
        "exp": iat + TOKEN_LIFETIME_SECONDS,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": "JWT"})


def mint_many(key: SigningKey, audience: str, count: int) -> list[str]:
    now = time.time()
    return [mint(key, audience, now) for _ in range(count)]
