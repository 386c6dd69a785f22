"""The embedded demo FHIR server: sekmet-fhir on loopback, pre-loaded with the fixture patients.

`anakinra-cds serve` (demo) and `anakinra-cds fhir-server` start it; `.ci/run` uses the latter.
It binds to 127.0.0.1 only and answers CORS itself, so the CDS Hooks Sandbox can use it.
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
from datetime import date, timedelta
from pathlib import Path

import requests

DEFAULT_PORT = 8913


def fixtures_dir() -> Path:
    here = Path(__file__).resolve().parent.parent / "fhir_fixtures"
    return here


def sekmet_executable() -> str | None:
    cand = Path(sys.executable).with_name("sekmet")
    if cand.exists():
        return str(cand)
    return shutil.which("sekmet")


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
    log = open(root / "sekmet.log", "ab")
    proc = subprocess.Popen([exe, "serve", "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)],
                            cwd=str(root), env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the embedded FHIR server exited (code {proc.returncode}); see {root / 'sekmet.log'}")
        if is_up(base_url(port)):
            return proc
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the embedded FHIR server did not start within 60 s")


# Demo charts (fhir_fixtures/bundles/demo-*.json) are written as of Bundle.timestamp and carry this tag:
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


def load_fixtures(url: str, directory: Path | None = None, today: date | None = None) -> int:
    """POST every fixture bundle to the FHIR server at `url`; demo charts are rebased to `today`."""
    directory = directory or fixtures_dir() / "bundles"
    today = today or date.today()
    count = 0
    for path in sorted(directory.glob("*.json")):
        bundle = rebase_dates(json.loads(path.read_text(encoding="utf-8")), today)
        resp = requests.post(url, json=bundle, timeout=60,
                             headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})
        if resp.status_code >= 300:
            raise RuntimeError(f"loading {path.name} failed: HTTP {resp.status_code} {resp.text[:300]}")
        count += 1
    return count
