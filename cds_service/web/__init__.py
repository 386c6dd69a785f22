"""The HTTP surface (Flask): routes, authentication of the CDS Client, CORS, error answers. Every decision is
made by `cds_service.core`; this layer reads requests, checks who sends them and writes answers.

Blueprints and installers that `cds_service.app.create_app` wires: `auth.install` (JWT of the CDS Client),
`cors.install`, `errors.install`, and the blueprints of `discovery` (GET /cds-services), `hooks`
(POST /cds-services/{id}), `feedback`, `explain` (POST /explain/{id}), `info` (/health, /policy ...) and
`openapi`. `CdsRuntime` (`runtime`): the per-app services the routes share (hash key, store, audit spool,
health).
"""

from . import auth, cors, discovery, errors, explain, feedback, hooks, info, openapi
from .runtime import CdsRuntime

__all__ = ["CdsRuntime", "auth", "cors", "discovery", "errors", "explain", "feedback", "hooks", "info", "openapi"]
