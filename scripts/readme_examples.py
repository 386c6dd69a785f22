"""Print the README's curl examples with the service's real responses (run: .venv/bin/python scripts/readme_examples.py).

The responses come from the demo configuration with the fixtures' order date; card uuids differ per call.
Only the systemAction's `resource` is shortened (it is the order as sent, plus the extension shown).
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cds_service.app import create_app  # noqa: E402
from cds_service.config import demo_settings  # noqa: E402

EXAMPLES = [
    ("Covered: RA with complete step therapy", "ra-complete"),
    ("Check 1, site of care: an order administered in the clinic", "office-administered"),
    ("Check 2, combination: adalimumab (Humira) still active", "ra-on-humira"),
    ("Check 3, dose: 200 mg daily, 56 syringes per 28 days", "dose-200mg"),
    ("Check 3, weight-based dose: a NOMID child at 10 mg/kg/day", "nomid-child-overdose"),
    ("Check 4, step therapy: RA with one preferred product tried", "ra-missing-preferred"),
]


def shorten(body: dict) -> dict:
    out = json.loads(json.dumps(body))
    for action in out.get("systemActions", []):
        res = action["resource"]
        ext = [e for e in res.get("extension", []) if "coverage-information" in e["url"]]
        action["resource"] = {"resourceType": res["resourceType"], "id": res["id"], "...": "the order as sent",
                              "extension": ext}
    return out


def pretty(value, depth: int = 0, expand: int = 4) -> str:
    """JSON with the outer levels indented and everything deeper on one line (README-sized)."""
    pad = " " * depth
    if depth >= expand or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        items = [f'{pad} {json.dumps(k)}: {pretty(v, depth + 1, expand)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{pad} {pretty(v, depth + 1, expand)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"


def main() -> None:
    settings = demo_settings().with_overrides(var_dir=tempfile.mkdtemp(), auth_enabled=False)
    app = create_app(settings, clock=lambda: datetime(2026, 3, 2, 15, tzinfo=timezone.utc))
    client = app.test_client()
    for title, slug in EXAMPLES:
        req = json.loads((ROOT / "fhir_fixtures" / "requests" / f"{slug}.json").read_text())
        service = "anakinra-order-select" if req["hook"] == "order-select" else "anakinra-order-sign"
        body = client.post(f"/cds-services/{service}", json=req).get_json()
        print(f"### {title}\n")
        print("```bash")
        print("curl -s -X POST -H 'Content-Type: application/json' \\")
        print(f"     --data @fhir_fixtures/requests/{slug}.json \\")
        print(f"     http://127.0.0.1:8080/cds-services/{service}")
        print("```\n")
        print("<details><summary>Response</summary>\n")
        print("```json")
        body = shorten(body)
        for card in body["cards"]:          # the long markdown detail and suggestion resources, abridged
            for sugg in card.get("suggestions", []):
                for action in sugg.get("actions", []):
                    if "resource" in action:
                        action["resource"] = {"resourceType": action["resource"]["resourceType"],
                                              "...": "the order with the change applied"}
        print(pretty(body, expand=6))
        print("```\n")
        print("</details>\n")


if __name__ == "__main__":
    main()
