"""warm_up does at start what each worker's first call would otherwise do the first time: checked in a fresh
interpreter (a subprocess), since in the test process other tests have imported and built it all already."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import FIXTURES

# Run in a fresh interpreter: in the test process other tests have imported and built it all already.
_PROBE = r"""
import json, sys
from cds_service.app import create_app, warm_up
from cds_service.config import demo_settings
from cds_service.facts import clinical_kinds, text_evidence, text_statements
from cds_service.facts.terminology import codes, loader, names, wording
from cds_service.store.models import Base

app = create_app(demo_settings().with_overrides(var_dir=sys.argv[1]))
warm_up(app)
store = app.extensions["cds"].store
lazy = list({id(f): f for m in (loader, codes, names, wording, text_evidence, clinical_kinds, text_statements)
             for f in vars(m).values() if callable(f) and hasattr(f, "cache_info")
             and f.cache_info().maxsize == 1}.values())
report = {
    "mappers_configured": all(m.configured for m in Base.registry.mappers),
    "sqlite_statements_compiled": store._fast_path.statements is not None,
    "sqlite_connections_kept": len(store._fast_path.idle),
    "lazy_tables": len(lazy),
    "lazy_tables_built": sum(f.cache_info().currsize for f in lazy),
}
before = set(sys.modules)
resp = app.test_client().post("/cds-services/anakinra-order-sign", data=open(sys.argv[2], "rb").read(),
                              headers={"Content-Type": "application/json"})
report["status"] = resp.status_code
report["modules_imported_by_the_first_call"] = sorted(
    m for m in set(sys.modules) - before if m.startswith("cds_service"))
print(json.dumps(report))
"""


def test_after_warm_up_the_first_call_imports_builds_and_configures_nothing_more(tmp_path):
    request = FIXTURES / "requests" / "ra-complete.json"
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "var"), str(request)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["status"] == 200
    assert report["mappers_configured"] is True
    assert report["sqlite_statements_compiled"] is True
    assert report["sqlite_connections_kept"] == 0  # a forked worker opens its own
    assert report["lazy_tables"] >= 6
    assert report["lazy_tables_built"] == report["lazy_tables"]
    assert report["modules_imported_by_the_first_call"] == []
