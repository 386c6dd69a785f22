"""The Flask glue: `install(app, settings)` requires a verified CDS Client JWT on every request (a
`before_request` hook) and answers 401 with an empty body on any failure (the reason is logged,
never returned)."""

from __future__ import annotations

from flask import Flask, Response, g, request

from cds_service.config import Settings
from cds_service.web.replay_cache import make_replay_cache

from .errors import AuthError, log, safe
from .verifier import JwtVerifier

#: Paths that never need a JWT (probes and the API description).
EXEMPT_PATHS = frozenset({"/health", "/openapi.json"})
# The guideline as data (linked from every card) holds no patient data: readable without a JWT.
# The documentation form is opened by a clinician's browser, which has no CDS Client JWT: its short-lived signed
# link (forms/links.py, bound to the coverage-assertion-id, the order and the patient) is its authorization.
EXEMPT_PREFIXES = ("/policy/", "/documentation/")


def _unauthorized() -> Response:
    # "401 Unauthorized without any additional information" (CDS Hooks best practice).
    return Response(b"", status=401, headers={"WWW-Authenticate": "Bearer"})


def install(app: Flask, settings: Settings, verifier: JwtVerifier | None = None) -> JwtVerifier | None:
    """Require a valid CDS Client JWT on every request except OPTIONS and EXEMPT_PATHS.

    The audience of a request is settings.external_base_url + request.path (never the Host
    header). Claims land in `flask.g.jwt_claims`. Returns the verifier (None when auth is off).
    """
    if not settings.auth_enabled:
        log.warning(
            "AUTHENTICATION IS DISABLED: CDS Hooks JWTs are NOT checked and every caller is "
            "trusted (CDS_AUTH=false). Never run like this with real patient data."
        )
        return None
    if verifier is None:
        verifier = JwtVerifier(settings, make_replay_cache(settings))
    if not verifier.issuers:
        log.warning(
            "Authentication is on but no CDS Client is trusted (CDS_TRUSTED_ISSUERS is empty): "
            "every request except OPTIONS, %s will be answered 401",
            ", ".join(sorted(EXEMPT_PATHS)),
        )
    base = settings.external_base_url.rstrip("/")
    app.extensions["cds_jwt_verifier"] = verifier

    @app.before_request
    def require_cds_client_jwt():
        if request.method == "OPTIONS" or request.path in EXEMPT_PATHS or request.path.startswith(EXEMPT_PREFIXES):
            return None
        try:
            g.jwt_claims = verifier.verify(request.headers.get("Authorization"), base + request.path)
        except AuthError as exc:
            log.warning(
                "401 %s %s: %s (iss=%s kid=%s jti=%s)",
                request.method,
                safe(request.path),
                exc.reason,
                safe(exc.iss),
                safe(exc.kid),
                safe(exc.jti),
            )
            return _unauthorized()
        return None

    return verifier
