"""Inbound authentication: CDS Hooks 2.0 "Trusting CDS Clients" (a signed JWT on every call).

The public surface: `install(app, settings)` (the Flask `before_request` hook, `flask_hook.py`),
`JwtVerifier` and `AuthError` (token verification, `verifier.py`), the Sandbox constants
(`issuers.py`). The modules, one concern each:
- `keys.py`: JWK Sets from pinned files or fetched URLs, key fit, key objects (cached);
- `issuers.py`: the trusted issuers and their key sources (settings, the pinned Sandbox);
- `claims.py`: the signature and the registered claims (`jwt.decode`; a hand-checked fast path
  behind a switch);
- `verifier.py`: the checks in order (header, issuer, key, claims, tenant, replay);
- `flask_hook.py`: the Flask glue (401 with an empty body; the reason logged, never returned).
All log through the logger `cds_service.web.auth`.
"""

from .errors import AuthError
from .flask_hook import EXEMPT_PATHS, EXEMPT_PREFIXES, install
from .issuers import SANDBOX_ISSUER, SANDBOX_JKU, SANDBOX_JWKS_FILE
from .verifier import ASYMMETRIC_ALGORITHMS, JwtVerifier, allowed_algorithms

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "EXEMPT_PATHS",
    "EXEMPT_PREFIXES",
    "SANDBOX_ISSUER",
    "SANDBOX_JKU",
    "SANDBOX_JWKS_FILE",
    "AuthError",
    "JwtVerifier",
    "allowed_algorithms",
    "install",
]
