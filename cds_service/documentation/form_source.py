"""What the service's own documentation form shows for a signed link, and where its answers go (Flask-free).

The form page (`web/documentation_form.py`) is wired with `source` and `sink` (`DocumentationForm`):
- `source(link)`: the package of the link's context (the coverage-assertion-id kept at order-sign,
  `store/documentation.py`): the Questionnaire, the QuestionnaireResponse pre-filled from the chart (with the
  order as `qr-context`), and the ValueSets it names. None when the context is unknown or too old.
- `sink(link, completed)`: keeps the completed QuestionnaireResponse keyed by the context and its order, for the
  same patient's pseudonym; the next order-sign reads it back (`loop.DocumentationLoop.read_back`).

The patient: the context keeps the patient only as the keyed pseudonym, so the form never sees the patient's id.
Its pre-filled response names the patient `Patient/<pseudonym>` (`form_patient_ref`), the reference the hook
call binds the link to (`forms.links.FormLinkContext.patient_ref`); the form checks the link against it, and the
store drops the subject when it keeps the answers. A link issued for one context, order and patient therefore
never shows or stores another's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ..forms.links import VerifiedFormLink
from ..policy.data_loader import Policy
from ..policy.questions import Questions, load_questions
from ..respond.questionnaire import build_questionnaire, build_value_sets
from ..store.documentation import DocumentationContext, DocumentationStore
from .package import prefilled_response


def form_patient_ref(patient_hash: str) -> str:
    """The patient as the form knows it: the keyed pseudonym, as a reference (never the EHR's id)."""
    return f"Patient/{patient_hash}"


class DocumentationForm:
    def __init__(
        self,
        docs: DocumentationStore,
        policy: Policy,
        base_url: str,
        clock: Callable[[], datetime] | None = None,
        questions: Questions | None = None,
    ):
        self.docs = docs
        self.policy = policy
        self.base_url = base_url
        self.clock = clock or (lambda: datetime.now(UTC))
        self.questions = questions or load_questions(policy)

    def _context(self, link: VerifiedFormLink) -> DocumentationContext | None:
        return self.docs.context(link.context_id)

    def source(self, link: VerifiedFormLink) -> tuple[dict, dict, list[dict]] | None:
        ctx = self._context(link)
        if ctx is None:
            return None
        questionnaire = build_questionnaire(self.policy, self.base_url, self.questions)
        authored = self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        response = prefilled_response(
            questionnaire, ctx, form_patient_ref(ctx.patient_hash), ctx.coverage_ref, authored, self.base_url
        )
        return questionnaire, response, build_value_sets(self.policy, self.base_url, self.questions)

    def sink(self, link: VerifiedFormLink, completed: dict) -> None:
        ctx = self._context(link)
        if ctx is None:  # gone between the page and its submission (expired): not stored
            raise LookupError("the documentation context is no longer kept")
        self.docs.store_response(
            completed, patient_hash=ctx.patient_hash, assertion_id=ctx.assertion_id, order_ref=ctx.order_ref
        )


__all__ = ["DocumentationForm", "form_patient_ref"]
