"""Documentation the prescriber completes at the order (Da Vinci DTR 2.2), free of Flask.

Public surface:
- `DocumentationLoop` (loop.py): at a hook call, read completed questionnaires back into the case
  (`read_back`) and keep the context the package needs (`remember`); `questionnaire_for(decision, base_url)`.
- `build_package(body, docs=..., patient_hash=..., policy=..., base_url=..., now=...)` (package.py): the
  `Questionnaire/$questionnaire-package` operation; `PackageError` (status + OperationOutcome).
- `DocumentationForm(docs, policy, base_url)` (form_source.py): the form page's `source` and `sink` for a signed
  link; `form_patient_ref(patient_hash)`: the patient as the form and its link know it (the pseudonym).
- `read_answers`, `apply_answers`, `acceptable` (answers.py): a QuestionnaireResponse as facts.
- `prefill_answers`, `prefill_trials` (prefill.py): what the chart already answers.
"""

from .answers import DocumentedAnswers, acceptable, apply_answers, read_answers
from .form_source import DocumentationForm, form_patient_ref
from .loop import DocumentationLoop, answerable, open_clauses, order_assertion_ids, questionnaire_for
from .package import PackageError, build_package, parse_input
from .prefill import prefill_answers, prefill_trials

__all__ = [
    "DocumentationForm",
    "DocumentationLoop",
    "DocumentedAnswers",
    "PackageError",
    "acceptable",
    "answerable",
    "apply_answers",
    "build_package",
    "form_patient_ref",
    "open_clauses",
    "order_assertion_ids",
    "parse_input",
    "prefill_answers",
    "prefill_trials",
    "questionnaire_for",
    "read_answers",
]
