"""The plan's records as the chart carries them (issue 17, class 1): a preauthorization ClaimResponse is
an approval only when it says so positively, and what it was for is read from its notes, its items and the
Claim it answers. Near misses are written from the guideline's continuation 1: "An authorization or
reauthorization for anakinra has been previously approved by Florida Blue (except COVID-19 treatment and
MIS-C Associated with SARS - see initiation criteria)"."""

from __future__ import annotations

from datetime import date

import pytest

from cds_service.facts.extra_history import prior_authorizations

X12 = "https://codesystem.x12.org/005010/306"
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


def review_action(code: str, display: str = "") -> dict:
    """An item adjudication as Da Vinci PAS carries the X12 278 HCR01 review action."""
    return {
        "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "submitted"}]},
        "extension": [
            {
                "url": PAS + "extension-reviewAction",
                "extension": [
                    {"url": "number", "valueString": "AUTH0001"},
                    {
                        "url": "code",
                        "valueCodeableConcept": {"coding": [{"system": X12, "code": code, "display": display}]},
                    },
                ],
            }
        ],
    }


def claim_response(
    rid: str = "pa",
    outcome: str = "complete",
    disposition: str | None = None,
    pre_auth_ref: str | None = "PA-1",
    actions: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
    product: str = "Kineret (anakinra) 100 mg/0.67 mL prefilled syringe",
    request: str | None = None,
    start: str = "2025-03-10",
    end: str = "2026-03-09",
) -> dict:
    cr = {
        "resourceType": "ClaimResponse",
        "id": rid,
        "status": "active",
        "use": "preauthorization",
        "outcome": outcome,
        "preAuthPeriod": {"start": start, "end": end},
        "addItem": [
            {
                "productOrService": {"text": product},
                **({"adjudication": [review_action(a) for a in actions]} if actions else {}),
            }
        ],
    }
    if disposition is not None:
        cr["disposition"] = disposition
    if pre_auth_ref is not None:
        cr["preAuthRef"] = pre_auth_ref
    if notes:
        cr["processNote"] = [{"number": i + 1, "text": t} for i, t in enumerate(notes)]
    if request:
        cr["request"] = {"reference": request}
    return cr


def read(cr: dict, resources: dict | None = None):
    [pa] = prior_authorizations([cr], (resources or {}).get)
    return pa


# -- what was decided -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "disposition",
    [
        "Not certified: step therapy not met (Kineret for rheumatoid arthritis)",
        "Kineret request for rheumatoid arthritis - NOT APPROVED. Preferred products not tried.",
        "Approval denied: member has not tried three preferred products",
        "Request reviewed; anakinra cannot be approved at this time",
        "Pended: additional information requested (chart notes)",
        "Approved request was withdrawn by the prescriber",
    ],
)
def test_outcome_complete_with_a_negative_disposition_is_not_an_approval(disposition):
    """outcome 'complete' means processing finished, whatever the decision: the disposition decides."""
    pa = read(claim_response(disposition=disposition))
    assert pa.status != "approved", pa
    assert pa.basis


@pytest.mark.parametrize(
    "actions, status",
    [
        (("A3",), "denied"),
        (("A4",), "pended"),
        (("C",), "cancelled"),
        (("CT",), "contact-payer"),
        (("NA",), "no-action"),
        (("A6",), "modified"),
        (("A1", "A3"), "denied"),
    ],
)
def test_x12_review_actions_that_are_not_certifications(actions, status):
    """Da Vinci PAS's own rejection example is outcome 'complete' with A3 'Not Certified'."""
    pa = read(claim_response(disposition=None, actions=actions))
    assert pa.status == status and "X12 review action" in pa.basis


@pytest.mark.parametrize("actions", [("A1",), ("A2",)])
def test_x12_certification_is_an_approval(actions):
    pa = read(
        claim_response(
            disposition=None, pre_auth_ref=None, actions=actions, notes=("Kineret for rheumatoid arthritis",)
        )
    )
    assert pa.status == "approved" and pa.basis.startswith("X12 review action " + actions[0])


def test_a_certification_contradicted_by_its_text_is_not_an_approval():
    pa = read(claim_response(disposition="Not certified: step therapy not met", actions=("A1",)))
    assert pa.status == "denied"


def test_modified_counts_only_with_a_statement_of_approval():
    assert read(claim_response(disposition=None, actions=("A6",))).status == "modified"
    pa = read(
        claim_response(
            disposition="Approved with a modified quantity: 28 syringes per 28 days for rheumatoid arthritis",
            actions=("A6",),
        )
    )
    assert pa.status == "approved"


@pytest.mark.parametrize(
    "cr",
    [
        claim_response(disposition=None),  # outcome alone
        claim_response(disposition="Request processed", pre_auth_ref="PA-9"),  # no statement of approval
        claim_response(disposition="Approved: Kineret for rheumatoid arthritis", pre_auth_ref=None),  # no preAuthRef
        claim_response(outcome="partial", disposition=None),
    ],
)
def test_no_positive_statement_is_no_approval(cr):
    assert read(cr).status == "unknown"


@pytest.mark.parametrize("outcome, status", [("error", "error"), ("queued", "pended")])
def test_error_and_queued_outcomes(outcome, status):
    pa = read(claim_response(outcome=outcome, disposition="Approved: Kineret for rheumatoid arthritis"))
    assert pa.status == status


def test_an_approval_with_its_reference_and_an_approving_disposition():
    pa = read(
        claim_response(
            disposition="Approved: Kineret (anakinra) 100 mg, initial authorization for "
            "rheumatoid arthritis (12 months)"
        )
    )
    assert (pa.status, pa.indication, pa.pa_id, pa.end) == ("approved", "ra", "PA-1", date(2026, 3, 9))
    assert "preAuthRef PA-1" in pa.basis


def test_an_approving_adjudication_is_an_approval():
    cr = claim_response(disposition=None, pre_auth_ref=None)
    cr["addItem"][0]["adjudication"] = [{"category": {"text": "Approved"}}]
    assert read(cr).status == "approved"


# -- what it was for ------------------------------------------------------------------------------------


def test_covid_course_named_in_a_process_note():
    pa = read(
        claim_response(
            disposition="Approved",
            actions=("A1",),
            start="2025-12-01",
            end="2025-12-31",
            notes=("One-month course for hospitalized COVID pneumonia under the EUA.",),
        )
    )
    assert pa.status == "approved" and "covid-19" in pa.indications


def test_covid_course_named_by_the_claim_it_answers():
    claim = {
        "resourceType": "Claim",
        "id": "claim-1",
        "use": "preauthorization",
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": ICD10, "code": "U07.1"}]}}],
        "item": [{"sequence": 1, "productOrService": {"text": "anakinra 100 mg daily x 10 days"}}],
    }
    pa = read(
        claim_response(disposition="Approved", actions=("A1",), request="Claim/claim-1", product="Kineret"),
        {"Claim/claim-1": claim},
    )
    assert pa.indications == frozenset({"covid-19"}) and pa.indication == "covid-19"


def test_mis_c_named_in_the_item():
    pa = read(
        claim_response(
            disposition="Certified", actions=("A1",), product="Kineret for multisystem inflammatory syndrome (MIS-C)"
        )
    )
    assert "mis-c" in pa.indications


def test_an_approval_naming_ra_and_covid_names_both():
    pa = read(
        claim_response(
            disposition="Approved",
            actions=("A1",),
            notes=("Member with rheumatoid arthritis; anakinra for COVID-19 (10 days).",),
        )
    )
    assert pa.indications == frozenset({"ra", "covid-19"}) and pa.indication is None


def test_an_approval_that_names_no_indication():
    pa = read(claim_response(disposition="Approved", actions=("A1",)))
    assert pa.indications == frozenset() and pa.indication is None


def test_not_for_anakinra_is_not_read():
    assert (
        prior_authorizations([claim_response(disposition="Approved", product="Humira (adalimumab)")], lambda ref: None)
        == ()
    )
