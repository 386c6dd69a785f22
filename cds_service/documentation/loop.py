"""The documentation loop at a hook call (Flask-free): read the prescriber's answers back, remember the context.

- `read_back(case, ehr_responses)`: the completed documentation QuestionnaireResponses of this patient, from the
  service's own store (by the coverage-assertion-ids the draft order carries from our earlier answer, and by the
  order) and from the EHR's data (prefetch `questionnaireResponses` or the search), applied to the case
  (`answers.apply_answers`). A response for another patient, another questionnaire or revision, or not
  completed, is never read.
- `remember(case, decision, assertion_id, fhir_server)`: when the decision is conditional on what the
  questionnaire asks, the context the package needs later (store/documentation.py).
The store may be down: then nothing is read from it or kept, and the decision is made without (never on) it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from ..facts.model import CaseFacts
from ..policy.data_loader import Policy
from ..policy.model import Decision, Determination, Outcome
from ..policy.questions import Questions, load_questions
from ..respond.coverage_information import EXT_URL
from ..respond.questionnaire import questionnaire_canonical, questionnaire_url
from ..store import StoreUnavailable
from ..store.documentation import DocumentationContext, DocumentationStore
from .answers import acceptable, apply_answers, read_answers
from .prefill import prefill_answers, prefill_trials

log = logging.getLogger(__name__)


def open_clauses(decision: Decision) -> list[str]:
    """The UNKNOWN leaves that keep the decision from being made (in the groups that decide coverage)."""
    out: list[str] = []
    for top in decision.coverage_tree():
        for node in top.pending():
            if node.outcome is Outcome.UNKNOWN and node.clause_id not in out:
                out.append(node.clause_id)
    return out


def asking_clauses(decision: Decision) -> list[str]:
    """The open clauses that ask for something (an UNKNOWN leaf with a `missing` item)."""
    out: list[str] = []
    for top in decision.coverage_tree():
        for node in top.pending():
            if node.outcome is Outcome.UNKNOWN and node.missing and node.clause_id not in out:
                out.append(node.clause_id)
    return out


def answerable(decision: Decision, questions: Questions) -> list[str]:
    """The open clauses that ask for something an answer to the questionnaire decides (empty: it does not help;
    questions kept only for the plan's review, such as the dose evidence, do not count)."""
    decided = questions.clauses_decided()
    return [cid for cid in asking_clauses(decision) if cid in decided]


def questionnaire_for(decision: Decision, base_url: str, questions: Questions | None = None) -> str | None:
    """The questionnaire canonical the coverage information names for this decision, or None: only a
    conditional decision with an open clause the questionnaire answers."""
    questions = questions or load_questions()
    if decision.determination is not Determination.CONDITIONAL or not answerable(decision, questions):
        return None
    return questionnaire_canonical(base_url, questions)


def order_assertion_ids(order: dict) -> list[str]:
    """The coverage-assertion-ids our earlier answers put on this draft order (an EHR that applied the
    systemAction sends them back)."""
    out = []
    for ext in order.get("extension", ()) if isinstance(order.get("extension"), list) else ():
        if not isinstance(ext, dict) or ext.get("url") != EXT_URL:
            continue
        for sub in ext.get("extension", ()) if isinstance(ext.get("extension"), list) else ():
            if (
                isinstance(sub, dict)
                and sub.get("url") == "coverage-assertion-id"
                and isinstance(sub.get("valueString"), str)
            ):
                out.append(sub["valueString"])
    return out


class DocumentationLoop:
    def __init__(
        self,
        policy: Policy,
        base_url: str,
        patient_hash: Callable[[str], str],
        docs: DocumentationStore | None = None,
        questions: Questions | None = None,
    ):
        self.policy = policy
        self.base_url = base_url
        self.patient_hash = patient_hash
        self.docs = docs
        self.questions = questions or load_questions(policy)

    def responses(self, case: CaseFacts, ehr_responses: Iterable[dict] = ()) -> list[dict]:
        """Every acceptable response for this case: ours (store) first, then the EHR's."""
        patient_ref = case.patient.reference
        found: list[dict] = []
        if self.docs is not None:
            try:
                found += self.docs.responses_for(
                    self.patient_hash(patient_ref.split("/", 1)[1]),
                    assertion_ids=order_assertion_ids(case.order.raw),
                    order_ref=case.order.reference,
                    patient_ref=patient_ref,
                )
            except StoreUnavailable as exc:
                log.warning("documentation responses not read (store unavailable): %s", exc)
        found += list(ehr_responses)
        url = questionnaire_url(self.base_url, self.questions)
        kept, seen = [], set()
        for qr in found:
            why = acceptable(qr, patient_ref, url, self.questions.revision)
            key = qr.get("id") if isinstance(qr, dict) else None
            if why is None and (key is None or key not in seen):
                kept.append(qr)
                seen.add(key)
        return kept

    def read_back(self, case: CaseFacts, ehr_responses: Iterable[dict] = ()) -> CaseFacts:
        responses = self.responses(case, ehr_responses)
        if not responses:
            return case
        return apply_answers(case, [read_answers(qr, self.questions, self.policy) for qr in responses])

    def questionnaire(self, case: CaseFacts, decision: Decision) -> str | None:
        """The canonical the coverage information names for this decision (`questionnaire_for`), or None; never at
        order-select (a secondary hook asks for no documentation)."""
        if case.hook == "order-select":
            return None
        return questionnaire_for(decision, self.base_url, self.questions)

    def context(
        self, case: CaseFacts, decision: Decision, assertion_id: str, fhir_server: str | None
    ) -> DocumentationContext | None:
        """What the package will need, when the questionnaire applies to this decision (else None)."""
        canonical = self.questionnaire(case, decision)
        if canonical is None:
            return None
        prefill = prefill_answers(case, decision, self.policy, self.questions) + prefill_trials(
            case, self.policy, self.questions
        )
        return DocumentationContext(
            assertion_id=assertion_id,
            patient_hash=self.patient_hash(case.patient.reference.split("/", 1)[1]),
            order_ref=case.order.reference,
            questionnaire=canonical,
            determination=decision.determination.value,
            coverage_ref=case.patient.coverage.source,
            fhir_server=fhir_server,
            open_clauses=tuple(open_clauses(decision)),
            missing=tuple(m.text for m in decision.missing),
            prefill=prefill,
            order_date=case.patient.as_of,
        )

    def remember(self, case: CaseFacts, decision: Decision, assertion_id: str, fhir_server: str | None) -> bool:
        """Keep the context when the questionnaire applies; False when it does not or the store is down."""
        ctx = self.context(case, decision, assertion_id, fhir_server)
        if ctx is None or self.docs is None:
            return False
        try:
            self.docs.remember(ctx)
        except StoreUnavailable as exc:
            log.warning("documentation context not kept (store unavailable): %s", exc)
            return False
        return True


__all__ = ["DocumentationLoop", "answerable", "open_clauses", "order_assertion_ids", "questionnaire_for"]
