"""Flask application factory (`cds_service.app:create_app`) and the start-up warm-up."""

from __future__ import annotations

import logging

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from .config import Settings, from_env
from .core.services import discovery_document
from .documentation import DocumentationForm
from .facts import warm_up as warm_facts
from .facts.fhir_validation import warm_up as warm_models
from .policy.data_loader import load_policy
from .policy.questions import load_questions
from .store import Store, StoreUnavailable
from .web import auth, cors, discovery, dtr, errors, explain, feedback, hooks, info, openapi
from .web import documentation_form as form_page
from .web.runtime import CdsRuntime

_AUTO = object()
log = logging.getLogger(__name__)


def open_store(settings: Settings) -> Store:
    """The audit / feedback / authorization store, migrated to the newest schema. A database that is
    down at start is not fatal: the service answers without it and /health says degraded."""
    store = Store.from_settings(settings)
    try:
        store.ensure_schema()
    except StoreUnavailable as exc:
        log.error("database unavailable at start (answers continue, no audit or approvals): %s", exc)
    return store


def default_documentation_form(runtime: CdsRuntime, clock=None):
    """The form page's (source, sink) over the store's documentation contexts, or None without a store."""
    docs = runtime.documentation_store()
    if docs is None:
        return None
    form = DocumentationForm(docs, load_policy(), runtime.settings.external_base_url, clock=clock)
    return form.source, form.sink


def create_app(settings: Settings | None = None, *, clock=None, store=_AUTO, documentation_form=_AUTO) -> Flask:
    """The WSGI app. `store` defaults to the one `settings` names (SQLite in var_dir unless DATABASE_URL);
    pass `store=None` for none (explain offline). The DTR form page at /documentation/<signed token>
    (web/documentation_form.py) is served by default from the store's documentation contexts
    (`documentation.DocumentationForm`); `documentation_form=(source, sink)` replaces that, None turns it off.
    Without a store there is no form (nothing to show or keep)."""
    settings = settings or from_env()
    if store is _AUTO:
        store = open_store(settings)
    app = Flask("cds_service")
    app.config["CDS_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["CDS_CLOCK"] = clock
    if isinstance(app.json, DefaultJSONProvider):  # Flask's own provider (typed as the JSONProvider base)
        app.json.sort_keys = False

    runtime = app.extensions["cds"] = CdsRuntime(settings, store)
    cors.install(app)  # first: preflight answers before auth runs
    auth.install(app, settings)  # before_request: every route but OPTIONS, /health, /openapi.json
    errors.install(app)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(hooks.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(explain.bp)
    app.register_blueprint(info.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(dtr.bp)  # DTR package, Questionnaire, ValueSets (issue 21)
    if documentation_form is _AUTO:
        documentation_form = default_documentation_form(runtime, clock)
    if documentation_form is not None:
        source, sink = documentation_form
        form_page.install(app, source, sink)
    return app


def warm_up(app: Flask) -> None:
    """Do once, before the first call (under gunicorn --preload: once for every worker), what a call
    would otherwise do the first time: load the policy and terminology data, compile the value sets'
    tables and patterns, build the lazy validators, and get the store's side ready (`CdsRuntime.warm_up`).
    Without the last two, each worker's first hook call took 45 to 80 ms instead of about 10."""
    load_policy()
    load_questions()  # the documentation questionnaire's data (DTR, issue 21)
    warm_facts()
    discovery_document()
    warm_models()
    runtime = app.extensions.get("cds")
    if runtime is not None:
        runtime.warm_up()
