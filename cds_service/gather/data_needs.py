"""What the service needs from the chart: one *data need* per prefetch key, with its query.

Every template uses only CDS Hooks 2.0 tokens ({{context.patientId}}, {{context.userId}},
{{userPractitionerId}}) and the 2.0 query subset (read, type search, token equality, _sort,
_count). When the client leaves a key out (or sends null / an OperationOutcome) the gather layer
runs the same query against `fhirServer`. The discovery document (`core.services`) advertises the
same templates as its prefetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..facts.terminology.codes import observation_loincs


@dataclass(frozen=True)
class DataNeed:
    key: str
    template: str
    resource_types: tuple[str, ...]
    required: bool  # 412 when neither prefetch nor the FHIR server can supply it
    single: bool = False  # a read of one resource rather than a search


def _loinc_list() -> str:
    codes = observation_loincs()
    return ",".join(f"http://loinc.org|{c}" for c in codes)


@lru_cache(maxsize=1)
def data_needs() -> tuple[DataNeed, ...]:
    pid = "{{context.patientId}}"
    return (
        DataNeed("patient", f"Patient/{pid}", ("Patient",), True, single=True),
        DataNeed("user", "{{context.userId}}", ("Practitioner", "PractitionerRole"), False, single=True),
        DataNeed("userRoles", "PractitionerRole?practitioner={{userPractitionerId}}", ("PractitionerRole",), False),
        DataNeed("coverage", f"Coverage?patient={pid}&status=active", ("Coverage",), True),
        DataNeed("conditions", f"Condition?patient={pid}", ("Condition",), True),
        DataNeed("observations", f"Observation?patient={pid}&code={_loinc_list()}&_sort=-date", ("Observation",), True),
        DataNeed("medicationRequests", f"MedicationRequest?patient={pid}", ("MedicationRequest", "Medication"), True),
        DataNeed(
            "medicationStatements", f"MedicationStatement?patient={pid}", ("MedicationStatement", "Medication"), True
        ),
        DataNeed(
            "medicationDispenses", f"MedicationDispense?patient={pid}", ("MedicationDispense", "Medication"), False
        ),
        DataNeed(
            "medicationAdministrations",
            f"MedicationAdministration?patient={pid}",
            ("MedicationAdministration", "Medication"),
            False,
        ),
        DataNeed("allergies", f"AllergyIntolerance?patient={pid}", ("AllergyIntolerance",), True),
        DataNeed("encounters", f"Encounter?patient={pid}&_sort=-date", ("Encounter",), False),
        DataNeed("immunizations", f"Immunization?patient={pid}", ("Immunization",), False),
        DataNeed("procedures", f"Procedure?patient={pid}", ("Procedure",), False),
        DataNeed("claimResponses", f"ClaimResponse?patient={pid}", ("ClaimResponse",), False),
        # DTR (issue 21): completed documentation questionnaires the EHR stored; only ours are read back.
        # The questionnaire's canonical depends on the deployment's base URL, so the search is by status.
        DataNeed(
            "questionnaireResponses",
            f"QuestionnaireResponse?patient={pid}&status=completed",
            ("QuestionnaireResponse",),
            False,
        ),
    )


__all__ = ["DataNeed", "data_needs"]
