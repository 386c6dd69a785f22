"""The facts layer: the typed picture of one anakinra order and its patient (`CaseFacts`), read from FHIR JSON.

Readers here turn raw resources into facts and never decide coverage (`cds_service.policy` does). Free text counts
only as an explicit, unnegated, unqualified statement (`text_evidence`). Terminology (codes, names, wording) is data
in the `terminology` package.

Public surface:

- `classify_drafts`, `build_cases`, `DraftOrder` (`builder`): one `CaseFacts` per selected anakinra draft order.
- the fact types of `model` that the policy layer reads: `CaseFacts`, `PatientFacts`, `OrderFacts` and the facts
  they hold (`Code`, `Diagnosis`, `TherapySpan`, `AllergyFact`, `LabValue`, `Weight`, `PrescriberStatement`,
  `PriorAuthorization` ...).
- `warm_up()`: load the terminology data and build every lazily built table, pattern and cue profile at start.

Also used directly: `fhir_validation.validation_notes` (structural validation of an order with fhir.resources, for
explanations; not imported here, so that reading facts does not load the FHIR models), `fhir_json` (defensive
readers of raw FHIR JSON), `text_evidence` (the negation and qualification reader).
"""

from __future__ import annotations

from . import terminology, text_statements
from .builder import DraftOrder, build_cases, classify_drafts
from .model import (
    AllergyFact,
    CaseFacts,
    Code,
    CoverageFacts,
    Diagnosis,
    DiseaseActivity,
    DoseFacts,
    LabValue,
    OrderFacts,
    PatientFacts,
    Prescriber,
    PrescriberStatement,
    PriorAuthorization,
    SettingFacts,
    TherapySpan,
    Weight,
)

__all__ = [
    "AllergyFact",
    "CaseFacts",
    "Code",
    "CoverageFacts",
    "Diagnosis",
    "DiseaseActivity",
    "DoseFacts",
    "DraftOrder",
    "LabValue",
    "OrderFacts",
    "PatientFacts",
    "Prescriber",
    "PrescriberStatement",
    "PriorAuthorization",
    "SettingFacts",
    "TherapySpan",
    "Weight",
    "build_cases",
    "classify_drafts",
    "warm_up",
]


def warm_up() -> None:
    """Load the terminology data and build every lazily built table, pattern and cue profile now (at start), not
    in the first call that needs it."""
    terminology.warm_up()
    text_statements.warm_up()
