"""End to end over clinical review charts, changed one fact at a time (near misses written from the guideline):
Table 1 "Moderately to severely active RA", initiation 1.b by the prescriber's own dates, RA 2.f."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

from cds_service.app import create_app
from tests.conftest import PINNED_NOW, service_for
from tests.e2e.helpers import clause_outcomes, coverage_infos

CHARTS = Path(__file__).resolve().parents[1] / "clinical_review" / "charts" / "ra"


def _chart(slug: str) -> dict:
    return json.loads((CHARTS / f"{slug}.json").read_text())["request"]


def _run(settings, req: dict) -> tuple[str, dict]:
    # a fresh store each time: a covered answer issues the plan's approval, which would open continuation next time
    Path(settings.var_dir).mkdir(parents=True, exist_ok=True)
    fresh = settings.with_overrides(var_dir=tempfile.mkdtemp(prefix="var-", dir=settings.var_dir))
    client = create_app(fresh, clock=lambda: PINNED_NOW).test_client()
    body = client.post(f"/cds-services/{service_for(req)}", json=req).get_json()
    explained = client.post(f"/explain/{service_for(req)}", json=req).get_json()
    return next(iter(coverage_infos(body).values()))["covered"][0], clause_outcomes(explained)


def _add_observation(req: dict, name: str, value: float, when: str) -> dict:
    req = copy.deepcopy(req)
    bundle = req["prefetch"]["observations"]
    bundle.setdefault("entry", []).append(
        {
            "resource": {
                "resourceType": "Observation",
                "id": "cdai-new",
                "status": "final",
                "code": {"text": name},
                "subject": {"reference": f"Patient/{req['context']['patientId']}"},
                "effectiveDateTime": when,
                "valueQuantity": {"value": value},
            }
        }
    )
    bundle["total"] = len(bundle["entry"])
    return req


def _note(req: dict, text: str) -> dict:
    req = copy.deepcopy(req)
    req["context"]["draftOrders"]["entry"][0]["resource"]["note"] = [{"text": text}]
    return req


def test_a_newer_low_activity_score_makes_a_complete_chart_conditional(settings):
    req = _chart("full-pass-three-preferred")
    assert _run(settings, req)[0] == "covered"
    det, outcomes = _run(settings, _add_observation(req, "CDAI", 6.5, "2026-02-16"))
    assert det == "conditional" and outcomes["table1.ra.activity"] == "not-met"


def test_a_newer_high_activity_score_lifts_an_old_mild_grading(settings):
    det, outcomes = _run(settings, _add_observation(_chart("ra-low-disease-activity"), "CDAI", 28, "2026-02-16"))
    assert det == "covered" and outcomes["table1.ra.activity"] == "met"


def test_recent_use_stated_by_dates_needs_the_risk_too(settings):
    req = _chart("prescriber-attests-recent-use-and-risk")
    det, outcomes = _run(
        settings,
        _note(
            req,
            "Has been treated with Kineret 100 mg SC daily continuously since "
            "10/06/2025 (pharmacy fills, not samples).",
        ),
    )
    assert det == "conditional" and outcomes["initiation.1.b"] == "unknown"
    det, outcomes = _run(
        settings,
        _note(req, "Kineret stopped in August 2025 when her coverage lapsed. She is at risk if therapy is changed."),
    )
    assert det == "conditional" and outcomes["initiation.1.b"] == "not-met"


def test_all_preferred_inappropriate_needs_the_complete_list(settings):
    req = _chart("hydroxychloroquine-six-months-inadequate")
    note = req["context"]["draftOrders"]["entry"][0]["resource"]["note"][0]["text"]
    without_list = note.split(" Complete list")[0]
    det, outcomes = _run(settings, _note(req, without_list))
    assert det == "conditional" and outcomes["table1.ra.2.f"] == "unknown"
    det, outcomes = _run(
        settings,
        _note(
            req,
            note.replace(
                "All preferred RA products are clinically inappropriate",
                "Some preferred RA products are clinically inappropriate",
            ),
        ),
    )
    assert det == "conditional" and outcomes["table1.ra.2.f"] == "unknown"
