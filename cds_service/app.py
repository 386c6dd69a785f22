"""Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask

from .config import Settings, from_env


def create_app(settings: Settings | None = None, *, clock=None, store=None) -> Flask:
    settings = settings or from_env()
    app = Flask("cds_service")
    app.config["CDS_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["CDS_CLOCK"] = clock
    app.json.sort_keys = False

    from .web import auth, cors, discovery, errors, explain, feedback, hooks, info
    from .web.runtime import CdsRuntime

    app.extensions["cds"] = CdsRuntime(settings, store)
    cors.install(app)          # first: preflight answers before auth runs
    auth.install(app, settings)   # before_request: every route but OPTIONS, /health, /openapi.json
    errors.install(app)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(hooks.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(explain.bp)
    app.register_blueprint(info.bp)
    logging.getLogger("anakinra_cds").setLevel(settings.log_level)
    return app


def warm_up(app: Flask) -> None:
    """Load policy and terminology data and build the lazy validators once, before the first call."""
    from .facts.fhir_models import warm_up as warm_models
    from .facts.terminology import valuesets
    from .policy.data_loader import load_policy
    from .protocol.services import discovery_document

    load_policy()
    valuesets.data()
    discovery_document()
    warm_models()
