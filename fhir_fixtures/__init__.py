"""Synthetic patient charts for end-to-end tests (see README.md beside this file).

`build.py` generates, deterministically and with the standard library only:
- `requests/<slug>.json`: a complete CDS Hooks 2.0 request with every prefetch key filled;
- `index.json`: one entry per chart with the clinically intended outcome (the e2e test oracle);
- the FHIR R4 transaction Bundles with the same charts (PUT, fixed ids) and the demo manifest, which
  the installed service reads and so live in the package: `cds_service/demo_charts/`.

Helpers here only read the generated files.
"""

from __future__ import annotations

import json
from pathlib import Path

from cds_service import demo_charts

FIXTURES_DIR = Path(__file__).resolve().parent
REQUESTS_DIR = FIXTURES_DIR / "requests"
BUNDLES_DIR = Path(str(demo_charts.charts_root())) / demo_charts.BUNDLES_NAME
DEMO_MANIFEST_FILE = Path(str(demo_charts.charts_root())) / demo_charts.MANIFEST_NAME
INDEX_FILE = FIXTURES_DIR / "index.json"


def load_index() -> list[dict]:
    """The scenario list: slug, hook, patientId, description, draftOrders, expect."""
    return json.loads(INDEX_FILE.read_text(encoding="utf-8"))


def slugs() -> list[str]:
    return [entry["slug"] for entry in load_index()]


def load_request(slug: str) -> dict:
    """The CDS Hooks request of one scenario (a fresh dict: callers may change it)."""
    return json.loads((REQUESTS_DIR / f"{slug}.json").read_text(encoding="utf-8"))


def load_bundle(slug: str) -> dict:
    """The FHIR transaction Bundle of one scenario's chart (without the draft order)."""
    return json.loads((BUNDLES_DIR / f"{slug}.json").read_text(encoding="utf-8"))


def expectation(slug: str) -> dict:
    for entry in load_index():
        if entry["slug"] == slug:
            return entry["expect"]
    raise KeyError(f"no fixture named {slug!r}; known: {', '.join(slugs())}")
