"""The command line: explain (table and JSON, offline), errors as one clear line, the store commands wired in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cds_service.cli import main
from tests.conftest import FIXTURES


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
    assert main(["explain", "--json", "--now", "2026-03-02T15:00:00",
                 str(FIXTURES / "requests" / "ra-continuation.json")]) == 0
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


def test_console_script_help_lists_every_command():
    exe = Path(sys.executable).with_name("anakinra-cds")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60).stdout
    for cmd in ("serve", "fhir-server", "explain", "audit", "authorizations", "db"):
        assert cmd in out


def test_explanations_list_what_fhir_validation_finds_in_the_order(client):
    req = json.loads((FIXTURES / "requests" / "ra-complete.json").read_text())
    clean = client.post("/explain/anakinra-order-sign", json=req).get_json()
    assert clean["orders"][0]["fhirValidation"] == []
    order = req["context"]["draftOrders"]["entry"][0]["resource"]
    order["authoredOn"] = "02/03/2026"                          # not a FHIR dateTime
    order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = "one hundred"
    order["dosageInstruction"][0]["text"] = "Inject as directed"      # no dose to fall back on
    broken = client.post("/explain/anakinra-order-sign", json=req).get_json()
    notes = broken["orders"][0]["fhirValidation"]
    assert any("authoredOn" in n for n in notes)
    assert any("doseQuantity" in n for n in notes)
    # The unreadable dose is unknown (documentation needed), never covered.
    assert broken["orders"][0]["determination"] != "covered"
    dose = next(c for t in broken["orders"][0]["clauses"] for c in [t, *t.get("children", [])]
                if c["clause"] == "dosage.ra")
    assert dose["outcome"] == "unknown"
    # The hook answer itself carries the decision, not the validation notes.
    hook = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    assert "fhirValidation" not in json.dumps(hook)
