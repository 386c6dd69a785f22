"""Record the service's answers to every fixture request and clinical review chart, to compare two versions.

    python scripts/fixture_answers.py record OUT_DIR
    python scripts/fixture_answers.py compare BEFORE_DIR AFTER_DIR

Each case runs in a fresh app with its own empty store and the clock pinned to the case's day, through the hook
route and the explain route. uuids, random assertion and approval ids, form links and timestamps are replaced by
placeholders, so two runs of the same code give byte-identical files and two versions differ only where their
answers do. Used for the before/after comparison of a refactoring (the behaviour must not move).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
RANDOM_ID = re.compile(r"\b(AKR|PA)-[A-Z0-9]{16}\b")  # assertion ids and approval numbers
FORM_LINK = re.compile(r"(/documentation/)[A-Za-z0-9_.\-]+")  # the form's signed link (names a random id)
STAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
PINNED_NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _cases() -> list[tuple[str, dict, datetime]]:
    cases = []
    for path in sorted((ROOT / "fhir_fixtures" / "requests").glob("*.json")):
        cases.append((f"fixture/{path.stem}", json.loads(path.read_text()), PINNED_NOW))
    charts = ROOT / "tests" / "clinical_review" / "charts"
    for path in sorted(charts.rglob("*.json")):
        chart = json.loads(path.read_text())
        now = datetime.fromisoformat(chart["now"].replace("Z", "+00:00")) if chart.get("now") else PINNED_NOW
        cases.append((f"chart/{path.relative_to(charts).with_suffix('')}", chart["request"], now))
    return cases


def _normalise(text: str) -> str:
    text = FORM_LINK.sub(r"\1<link>", text)
    return STAMP.sub("<time>", RANDOM_ID.sub(r"\1-<id>", UUID.sub("<uuid>", text)))


def record(out: Path) -> int:
    from cds_service.app import create_app
    from cds_service.config import demo_settings

    out.mkdir(parents=True, exist_ok=True)
    for name, req, now in _cases():
        with tempfile.TemporaryDirectory() as var:
            settings = demo_settings().with_overrides(var_dir=var, auth_enabled=False)
            client = create_app(settings, clock=lambda now=now: now).test_client()
            service = "anakinra-order-select" if req["hook"] == "order-select" else "anakinra-order-sign"
            answer = {}
            for route in ("cds-services", "explain"):
                resp = client.post(f"/{route}/{service}", json=req)
                answer[route] = {"status": resp.status_code, "body": resp.get_json()}
        target = out / f"{name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_normalise(json.dumps(answer, indent=1, sort_keys=True)) + "\n")
    return 0


def compare(before: Path, after: Path) -> int:
    names = {p.relative_to(before) for p in before.rglob("*.json")} | {
        p.relative_to(after) for p in after.rglob("*.json")
    }
    differ = [
        n
        for n in sorted(names)
        if not (before / n).exists()
        or not (after / n).exists()
        or (before / n).read_bytes() != (after / n).read_bytes()
    ]
    for n in differ:
        print(f"differs: {n}")
    print(f"{len(names)} answers compared, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        sys.exit(record(Path(sys.argv[2])))
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    print(__doc__)
    sys.exit(2)
