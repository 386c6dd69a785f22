"""The command line: explain (table and JSON, offline), errors as one clear line, the store commands wired in."""

from __future__ import annotations

import json

from cds_service.cli import main
from tests.conftest import FIXTURES, load_request
from tests.e2e.helpers import coverage_infos


def test_explain_table_offline(capsys):
    assert main(["explain", str(FIXTURES / "requests" / "ra-missing-preferred.json")]) == 0
    out = capsys.readouterr().out
    assert "Guideline 09-J0000-45 revision 2026-01-01" in out
    assert "CONDITIONAL" in out
    assert "table1.ra.2.a" in out and "not-met" in out
    assert "approval duration: 12 month(s)" in out


def test_explain_json_matches_the_http_explanation(client, capsys):
    path = FIXTURES / "requests" / "office-administered.json"
    assert main(["explain", "--json", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    over_http = client.post("/explain/anakinra-order-sign", json=json.loads(path.read_text())).get_json()
    assert doc["orders"][0]["determination"] == over_http["orders"][0]["determination"] == "not-covered"
    assert doc["orders"][0]["clauses"] == over_http["orders"][0]["clauses"]


def test_explain_offline_shows_the_pathway_not_applied(capsys):
    """ra-continuation (a plan approval in the chart): decided by continuation; the explanation also shows
    the initiation criteria, which do not decide."""
    assert (
        main(["explain", "--json", "--now", "2026-03-02T15:00:00", str(FIXTURES / "requests" / "ra-continuation.json")])
        == 0
    )
    order = json.loads(capsys.readouterr().out)["orders"][0]
    assert order["pathway"] == "continuation"
    tops = {c["clause"]: c for c in order["clauses"]}
    assert "continuation" in tops and "initiation" not in tops
    assert [c["clause"] for c in tops["alternative-pathway"]["children"]] == ["initiation"]


def test_explain_never_contacts_the_fhir_server_offline(tmp_path, capsys):
    req = json.loads((FIXTURES / "requests" / "ra-complete.json").read_text())
    del req["prefetch"]["conditions"]
    req["fhirServer"] = "http://127.0.0.1:1/fhir"
    path = tmp_path / "req.json"
    path.write_text(json.dumps(req))
    assert main(["explain", str(path)]) == 3
    assert "conditions" in capsys.readouterr().err


def test_explain_bad_input_is_one_line(tmp_path, capsys):
    assert main(["explain", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read") and "Traceback" not in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"hook": "order-sign"}')
    assert main(["explain", str(bad)]) == 2
    assert "hookInstance" in capsys.readouterr().err


def test_explanations_list_what_fhir_validation_finds_in_the_order(client):
    req = json.loads((FIXTURES / "requests" / "ra-complete.json").read_text())
    clean = client.post("/explain/anakinra-order-sign", json=req).get_json()
    assert clean["orders"][0]["fhirValidation"] == []
    order = req["context"]["draftOrders"]["entry"][0]["resource"]
    order["authoredOn"] = "02/03/2026"  # not a FHIR dateTime
    order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = "one hundred"
    order["dosageInstruction"][0]["text"] = "Inject as directed"  # no dose to fall back on
    broken = client.post("/explain/anakinra-order-sign", json=req).get_json()
    notes = broken["orders"][0]["fhirValidation"]
    assert any("authoredOn" in n for n in notes)
    assert any("doseQuantity" in n for n in notes)
    # The unreadable dose is unknown (documentation needed), never covered.
    assert broken["orders"][0]["determination"] != "covered"
    dose = next(
        c for t in broken["orders"][0]["clauses"] for c in [t, *t.get("children", [])] if c["clause"] == "dosage.ra"
    )
    assert dose["outcome"] == "unknown"
    # The hook answer itself carries the decision, not the validation notes.
    hook = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    assert "fhirValidation" not in json.dumps(hook)


# -- demo reset ---------------------------------------------------------------------------------------


def _sign(client, req) -> dict:
    resp = client.post("/cds-services/anakinra-order-sign", json=req)
    assert resp.status_code == 200
    return resp.get_json()


def _cards(body: dict, pa_ids: list[str]) -> list[tuple]:
    """What the clinician sees, with the plan approval ids (new on every approval) masked."""

    def mask(text: str) -> str:
        for pa_id in pa_ids:
            text = text.replace(pa_id, "<PA>")
        return text

    return [
        (c["indicator"], c["extension"]["anakinra-cds.finding"], mask(c["summary"]), mask(c.get("detail", "")))
        for c in body["cards"]
    ]


def _pa_ids(body: dict) -> list[str]:
    return [pa for v in coverage_infos(body).values() for pa in v.get("satisfied-pa-id", [])]


def _demo_env(monkeypatch, settings) -> None:
    monkeypatch.setenv("CDS_VAR_DIR", settings.var_dir)
    for name in ("CDS_PROFILE", "DATABASE_URL", "CDS_PATIENT_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_demo_reset_makes_the_second_run_show_the_cards_of_the_first(app, settings, monkeypatch, capsys):
    client = app.test_client()
    req = load_request("ra-complete")
    first = _sign(client, req)
    [pa_first] = _pa_ids(first)
    second = _sign(client, req)  # the approval the first signing stored now shows
    assert any(
        c["extension"]["anakinra-cds.finding"] == "renewal" and pa_first in c["summary"] for c in second["cards"]
    )
    assert _cards(second, [pa_first]) != _cards(first, [pa_first])

    _demo_env(monkeypatch, settings)
    assert main(["demo", "reset"]) == 0  # while the app (and its database connections) live on
    out = capsys.readouterr().out
    assert out.startswith("Demo state cleared in ") and "1 authorizations" in out
    assert app.extensions["cds"].store.list_authorizations() == []

    third = _sign(client, req)
    [pa_third] = _pa_ids(third)
    assert pa_third != pa_first  # a new approval, as on the first run
    assert _cards(third, [pa_third]) == _cards(first, [pa_first])
    assert coverage_infos(third).keys() == coverage_infos(first).keys()


def test_demo_reset_refuses_outside_the_demo_and_touches_nothing(app, settings, monkeypatch, capsys):
    client = app.test_client()
    _sign(client, load_request("ra-complete"))
    store = app.extensions["cds"].store
    _demo_env(monkeypatch, settings)
    monkeypatch.setenv("CDS_PROFILE", "production")
    assert main(["demo", "reset"]) == 2
    assert "CDS_PROFILE is 'production'" in capsys.readouterr().err
    monkeypatch.delenv("CDS_PROFILE")
    monkeypatch.setenv("DATABASE_URL", "postgresql://cds@db.example.org/cds")
    assert main(["demo", "reset"]) == 2
    assert "DATABASE_URL is set" in capsys.readouterr().err
    assert len(store.list_authorizations()) == 1


def test_demo_reset_without_a_database_creates_none(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CDS_VAR_DIR", str(tmp_path / "var"))
    for name in ("CDS_PROFILE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["demo", "reset"]) == 0
    assert "already clear" in capsys.readouterr().out
    assert not (tmp_path / "var" / "anakinra-cds.sqlite").exists()
