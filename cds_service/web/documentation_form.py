"""The documentation form page: `GET /documentation/<token>` shows it, `POST` checks and stores it.

For a prescriber whose EHR has no DTR (and for the CDS Hooks Sandbox demo): the card's absolute link
opens the Questionnaire with its pre-filled answers; the completed QuestionnaireResponse goes to the
sink and the page says what happens next (sign the order again).

Wiring (`install(app, source, sink)`), so that this module needs nothing from the package builder:
- `source(link) -> (questionnaire, prefilled_response, valuesets)` for a `VerifiedFormLink` (its
  `context_id` is the CRD coverage-assertion-id); raise LookupError (or return None) when the context
  is unknown.
- `sink(link, completed_response) -> None` stores the completed QuestionnaireResponse.

Security: the signed token in the URL is the authorization (bound to the context, the order and the
patient, short-lived; see `cds_service/forms/links.py`); a per-render nonce bound to it guards the POST;
pages are `no-store`, send no Referer (the token is in the URL) and carry a Content-Security-Policy
without inline script or style. Failures are HTML pages with a plain reason (403/404/503), never a
stack trace; tokens are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, render_template, request

from ..forms.answers import answers_from_response
from ..forms.links import FormLinkError, FormLinks, VerifiedFormLink
from ..forms.questionnaire_items import FormDefinition, QuestionnaireError, read_questionnaire
from ..forms.response_builder import QR_CONTEXT, build_completed_response, r4_problems
from ..forms.submission import read_submission
from ..forms.view_model import form_view

log = logging.getLogger(__name__)

Source = Callable[[VerifiedFormLink], "tuple[dict, dict, list[dict]] | None"]
Sink = Callable[[VerifiedFormLink, dict], None]
EXTENSION_KEY = "cds_documentation_form"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

bp = Blueprint(
    "documentation_form",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/documentation/static",
)


@dataclass(frozen=True)
class FormWiring:
    links: FormLinks
    source: Source
    sink: Sink


class _PageError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass
class _Loaded:
    link: VerifiedFormLink
    definition: FormDefinition
    prefilled_response: dict
    prefilled: dict[str, list[dict]]


def install(app: Flask, source: Source, sink: Sink) -> None:
    """Register the form page, with links signed by the service's secret key."""
    settings = app.config["CDS_SETTINGS"]
    links = FormLinks(app.extensions["cds"].hash_key, settings.form_link_minutes)
    app.extensions[EXTENSION_KEY] = FormWiring(links=links, source=source, sink=sink)
    app.register_blueprint(bp)


def _now() -> datetime:
    clock = current_app.config.get("CDS_CLOCK")
    now = clock() if clock else datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _wiring() -> FormWiring:
    return current_app.extensions[EXTENSION_KEY]


def _page(template: str, status: int = 200, **context):
    response = current_app.make_response((render_template(template, **context), status))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _message(status: int, title: str, message: str):
    return _page("documentation_form/message.html", status, title=title, message=message)


def _order_refs(response: dict) -> list[str]:
    return [
        e["valueReference"]["reference"]
        for e in response.get("extension") or ()
        if isinstance(e, dict)
        and e.get("url") == QR_CONTEXT
        and isinstance(e.get("valueReference"), dict)
        and isinstance(e["valueReference"].get("reference"), str)
    ]


def _load(token: str) -> _Loaded:
    wiring = _wiring()
    try:
        link = wiring.links.verify(token, _now())
    except FormLinkError as exc:
        log.warning("documentation form %s refused: %s", request.method, exc.reason)
        raise _PageError(403, "This link cannot open the form", exc.message) from None
    try:
        package = wiring.source(link)
    except LookupError:
        package = None
    except Exception:
        log.exception("documentation form: the package for a context could not be built")
        raise _PageError(
            503,
            "The form cannot be shown right now",
            "The plan's service could not prepare the form. Try again in a few minutes.",
        ) from None
    if package is None:
        raise _PageError(
            404,
            "No documentation is waiting for this order",
            "The plan has nothing to ask for this order any more. Sign the order again to see "
            "the plan's current answer.",
        )
    questionnaire, prefilled_response, valuesets = package
    prefilled_response = prefilled_response or {}
    patient = (prefilled_response.get("subject") or {}).get("reference")
    failures = []
    orders: list[str | None] = [*_order_refs(prefilled_response)] or [None]
    for order in orders:
        try:
            wiring.links.check_binding(link, order, patient)
            break
        except FormLinkError as exc:
            failures.append(exc)
    else:
        log.warning("documentation form %s refused: %s", request.method, failures[0].reason)
        raise _PageError(403, "This link cannot open the form", failures[0].message)
    try:
        definition = read_questionnaire(questionnaire, valuesets)
    except QuestionnaireError as exc:
        log.error("documentation form: the Questionnaire cannot be rendered: %s", exc)
        raise _PageError(
            503, "The form cannot be shown right now", "The plan's form is not usable at the moment. Try again later."
        ) from None
    return _Loaded(link, definition, prefilled_response, answers_from_response(prefilled_response))


def _form_page(token: str, loaded: _Loaded, view: dict, status: int = 200):
    return _page(
        "documentation_form/form.html",
        status,
        view=view,
        nonce=_wiring().links.form_nonce(token),
        action=request.path,
        expires_at=loaded.link.expires_at.strftime("%H:%M UTC"),
    )


@bp.get("/documentation/<token>")
def show_form(token: str):
    try:
        loaded = _load(token)
    except _PageError as exc:
        return _message(exc.status, exc.title, exc.message)
    return _form_page(token, loaded, form_view(loaded.definition, loaded.prefilled))


@bp.post("/documentation/<token>")
def submit_form(token: str):
    try:
        loaded = _load(token)
    except _PageError as exc:
        return _message(exc.status, exc.title, exc.message)
    if not _wiring().links.nonce_matches(token, request.form.get("form_nonce")):
        log.warning("documentation form POST refused: missing or foreign form nonce")
        return _message(
            403,
            "This form was not sent from the form page",
            "Open the form again from its link and send it from there.",
        )
    submission = read_submission(request.form.to_dict(flat=False), loaded.definition, loaded.prefilled)
    if not submission.ok:
        return _form_page(token, loaded, form_view(loaded.definition, loaded.prefilled, submission), 422)
    completed = build_completed_response(
        loaded.definition,
        submission.answers,
        loaded.prefilled_response,
        loaded.prefilled,
        practitioner_ref=loaded.link.practitioner_ref,
        authored=_now(),
    )
    problems = r4_problems(completed)
    if problems:
        log.error("documentation form: the completed QuestionnaireResponse is not valid R4: %s", problems[:3])
        return _message(
            503, "The answers could not be saved", "The plan's service could not record these answers. Try again later."
        )
    try:
        _wiring().sink(loaded.link, completed)
    except Exception:
        log.exception("documentation form: the completed QuestionnaireResponse could not be stored")
        return _message(
            503,
            "The answers could not be saved",
            "The plan's service could not record these answers. Go back and send them again in a few minutes.",
        )
    log.info(
        "documentation form completed for context %s (%d answered items)",
        loaded.link.context_id,
        len(submission.answers),
    )
    return _page("documentation_form/done.html", 200, title=loaded.definition.title)
