"""Structural validation of the draft order with fhir.resources (R4B models), for explanations.

R4B accepts R4 4.0.1 payloads for every resource type used here (see README); the top-level
`fhir.resources` package is R5 and must not be used. The rules read raw JSON with the defensive
readers of `fhir_json` (a malformed element reads as "not stated", so its clause is unknown),
so validation never changes a decision. It runs where someone reads it: `POST /explain/{id}` and
`anakinra-cds explain` list what is structurally wrong with each order (`fhirValidation`). On the
hook path it would be the largest single cost of a decision (~0.3 ms of ~2.5 ms for a 69-resource
chart, measured with `benchmarks/`). A validation failure never drops a resource (dropping an
active TNF antagonist could turn a combination into "covered").
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

if TYPE_CHECKING:  # fhir.resources' model base class (its own dependency), for annotations only
    from fhir_core.fhirabstractmodel import FHIRAbstractModel


@cache
def _model(resource_type: str) -> type[FHIRAbstractModel]:
    return get_fhir_model_class(resource_type)


def tolerant_copy(resource: dict[str, Any]) -> dict[str, Any]:
    """Undo known client quirks before validating (the Sandbox's single-object category/reasonCode)."""
    fixed = dict(resource)
    for key in ("category", "reasonCode", "dosageInstruction", "note", "identifier"):
        if key in fixed and isinstance(fixed[key], dict):
            fixed[key] = [fixed[key]]
    return fixed


def validation_notes(resource: dict[str, Any]) -> tuple[str, ...]:
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        return ("resourceType missing",)
    try:
        model = _model(rtype)
    except (KeyError, ValueError, AttributeError):
        return (f"unknown resourceType {rtype}",)
    try:
        model.model_validate(tolerant_copy(resource))
    except ValidationError as exc:
        notes = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            notes.append(f"{rtype}.{loc}: {err.get('msg')}")
        return tuple(notes)
    except (TypeError, ValueError) as exc:  # fhir_core raises plain ValueErrors on some shapes
        return (f"{rtype}: {exc}",)
    return ()


def warm_up() -> None:
    """Build the lazy validators once at start (the first validation of a class costs ~50 ms)."""
    validation_notes(
        {
            "resourceType": "MedicationRequest",
            "id": "warm",
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/warm"},
            "medicationCodeableConcept": {"text": "anakinra"},
        }
    )
    validation_notes({"resourceType": "Patient", "id": "warm"})
    validation_notes(
        {
            "resourceType": "Coverage",
            "id": "warm",
            "status": "active",
            "beneficiary": {"reference": "Patient/warm"},
            "payor": [{"display": "x"}],
        }
    )
