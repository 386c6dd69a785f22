"""The embedded demo FHIR server: sekmet-fhir on loopback, pre-loaded with the charts shipped in
`cds_service.demo_charts` (the test-fixture patients, the demo patients and the Sandbox's user).

`anakinra-cds serve` (demo) and `anakinra-cds fhir-server` start it; `.ci/run` uses the latter.
It binds to 127.0.0.1 only and answers CORS itself, so the CDS Hooks Sandbox can use it.
sekmet-fhir is the `[demo]` extra: `is_installed()` says whether it can be started.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import requests

from . import demo_charts

DEFAULT_PORT = 8913


def sekmet_executable() -> str | None:
    cand = Path(sys.executable).with_name("sekmet")
    if cand.exists():
        return str(cand)
    return shutil.which("sekmet")


def is_installed() -> bool:
    """Whether sekmet-fhir (`pip install 'anakinra-cds[demo]'`) can be started."""
    return sekmet_executable() is not None


def base_url(port: int = DEFAULT_PORT) -> str:
    return f"http://127.0.0.1:{port}/fhir"


def is_up(url: str) -> bool:
    try:
        return requests.get(url + "/metadata", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def start(var_dir: str = "var", port: int = DEFAULT_PORT, fresh: bool = True) -> subprocess.Popen:
    exe = sekmet_executable()
    if exe is None:
        raise RuntimeError("sekmet-fhir is not installed: pip install 'anakinra-cds[demo]' (sekmet-fhir==0.1.1)")
    root = Path(var_dir).resolve() / "fhir"
    if fresh and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "sekmet.yaml"
    cfg.write_text(
        f"base_url: {base_url(port)}\n"
        f"host: 127.0.0.1\nport: {port}\n"
        f"data_dir: {root / 'data'}\n"
        "simulator: {enabled: false}\n"
        "log_inbound: false\n"
        f"own_private_key_path: {root / 'keys' / 'sekmet_private.pem'}\n",
        encoding="utf-8",
    )
    env = dict(os.environ, SEKMET_CONFIG=str(cfg))
    argv = [exe, "serve", "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)]
    with open(root / "sekmet.log", "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(argv, cwd=str(root), env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603  (our argv)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the embedded FHIR server exited (code {proc.returncode}); see {root / 'sekmet.log'}")
        if is_up(base_url(port)):
            return proc
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the embedded FHIR server did not start within 60 s")


# Demo charts (cds_service/demo_charts/bundles/demo-*.json) are written as of Bundle.timestamp and carry this tag:
# they are loaded with every date shifted so that the timestamp's day becomes the load day, because the
# CDS Hooks Sandbox dates its draft orders today (a weight two weeks old stays two weeks old).
RELATIVE_DATES_TAG = ("urn:anakinra-cds:fixtures", "dates-relative-to-timestamp")
_FHIR_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?")
_NOT_DATES = frozenset({"id", "reference", "url", "fullUrl", "system", "code"})


def _shift(node, days: timedelta):
    if isinstance(node, dict):
        return {k: (v if k in _NOT_DATES else _shift(v, days)) for k, v in node.items()}
    if isinstance(node, list):
        return [_shift(v, days) for v in node]
    if isinstance(node, str) and _FHIR_DATE.fullmatch(node):
        return (date.fromisoformat(node[:10]) + days).isoformat() + node[10:]
    return node


def rebase_dates(bundle: dict, today: date) -> dict:
    """The bundle with its dates moved so that Bundle.timestamp falls on `today`, when it is tagged
    RELATIVE_DATES_TAG; any other bundle unchanged. Times of day and offsets are kept."""
    tags = (bundle.get("meta") or {}).get("tag") or []
    if not any((t.get("system"), t.get("code")) == RELATIVE_DATES_TAG for t in tags if isinstance(t, dict)):
        return bundle
    days = today - date.fromisoformat(str(bundle["timestamp"])[:10])
    out = copy.deepcopy(bundle)
    out["timestamp"] = _shift(out["timestamp"], days)
    out["entry"] = _shift(out.get("entry", []), days)
    return out


@dataclass(frozen=True)
class LoadedCharts:
    """What `load_charts` put into the FHIR server."""

    bundles: int
    demo_patients: tuple[str, ...]  # Patient ids, typed into the Sandbox URL
    sandbox_user: str  # the Sandbox's fixed user, a rheumatologist here
    demo_bundles: int  # the demo patients' bundles and the Sandbox user's

    @property
    def fixture_patients(self) -> int:
        return self.bundles - self.demo_bundles

    def summary(self) -> str:
        return (
            f"{self.bundles} chart bundles into the embedded FHIR server: {len(self.demo_patients)} demo "
            f"patients for the CDS Hooks Sandbox ({', '.join(self.demo_patients)}), the Sandbox user "
            f"{self.sandbox_user} and {self.fixture_patients} test-fixture patients"
        )


def load_charts(url: str, today: date | None = None) -> LoadedCharts:
    """POST every chart Bundle of `cds_service.demo_charts` to the FHIR server at `url`; the demo
    charts are rebased to `today` (default: the local date)."""
    today = today or date.today()
    bundles = demo_charts.bundle_files()
    for path in bundles:
        bundle = rebase_dates(json.loads(path.read_text(encoding="utf-8")), today)
        resp = requests.post(
            url,
            json=bundle,
            timeout=60,
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
        )
        if resp.status_code >= 300:
            raise RuntimeError(f"loading {path.name} failed: HTTP {resp.status_code} {resp.text[:300]}")
    manifest = demo_charts.manifest()
    return LoadedCharts(
        bundles=len(bundles),
        demo_patients=tuple(p["patientId"] for p in manifest["patients"]),
        sandbox_user=manifest["sandboxUser"],
        demo_bundles=len(manifest["bundles"]),
    )
