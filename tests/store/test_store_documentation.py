"""store/documentation.py: contexts by coverage-assertion-id, completed responses by patient pseudonym."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cds_service.store import DocumentationContext, DocumentationStore, Store

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def docs(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", hash_key=b"k" * 32)
    store.ensure_schema()
    clock = {"now": NOW}
    return DocumentationStore(store, clock=lambda: clock["now"]), clock


def ctx(aid="AKR-1", patient_hash="a" * 64):
    return DocumentationContext(
        aid,
        patient_hash,
        "MedicationRequest/o1",
        "https://x/fhir/Questionnaire/q|1.1",
        "conditional",
        "Coverage/c1",
        "https://ehr.example.org/fhir",
        ("initiation.2",),
        ("Documentation that ...",),
        [{"linkId": "indication", "answers": [], "source": "Patient/p1"}],
    )


def test_a_context_is_kept_and_found_then_forgotten_after_keep_days(docs):
    d, clock = docs
    d.remember(ctx())
    found = d.context("AKR-1")
    assert found.order_ref == "MedicationRequest/o1" and found.open_clauses == ("initiation.2",)
    assert found.prefill[0]["source"] == "Patient/[redacted]"  # no Patient/<id> in the database
    assert d.latest_context_for_order("a" * 64, "MedicationRequest/o1").assertion_id == "AKR-1"
    assert d.latest_context_for_order("b" * 64, "MedicationRequest/o1") is None
    assert d.context("AKR-2") is None
    clock["now"] = NOW + timedelta(days=91)
    assert d.context("AKR-1") is None
    assert d.purge() == 1


def test_a_response_is_kept_without_subject_and_read_only_for_the_same_patient(docs):
    d, _ = docs
    qr = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "https://x|1.1",
        "subject": {"reference": "Patient/p1"},
        "item": [],
    }
    rid = d.store_response(qr, patient_hash="a" * 64, assertion_id="AKR-1", order_ref="MedicationRequest/o1")
    (back,) = d.responses_for("a" * 64, assertion_ids=["AKR-1"], patient_ref="Patient/p1")
    assert back["id"] == rid and back["subject"] == {"reference": "Patient/p1"}
    assert d.responses_for("a" * 64, order_ref="MedicationRequest/o1")[0].get("subject") is None
    assert d.responses_for("b" * 64, assertion_ids=["AKR-1"], order_ref="MedicationRequest/o1") == []
    assert d.responses_for("a" * 64) == []
    d.store_response({**qr, "status": "in-progress"}, patient_hash="a" * 64, assertion_id="AKR-2", order_ref=None)
    assert d.responses_for("a" * 64, assertion_ids=["AKR-2"]) == []


def test_bad_input_is_refused(docs):
    d, _ = docs
    with pytest.raises(ValueError):
        d.store_response({"resourceType": "Patient"}, patient_hash="a" * 64, assertion_id=None, order_ref=None)
    with pytest.raises(ValueError):
        d.remember(ctx(aid=""))
