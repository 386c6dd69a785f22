"""Generate the examples in README.md and docs/*.md from the service's real answers.

Every example in a document sits between two markers,

    <!-- example: NAME -->
    ... generated text ...
    <!-- /example -->

and NAME is one of the examples below. Run from the repository root:

    .venv/bin/python scripts/readme_examples.py           # rewrite every block in place
    .venv/bin/python scripts/readme_examples.py --check   # exit 1 and name the blocks that differ

`tests/test_docs.py` regenerates the blocks in memory the same way and fails when a document's example no longer
matches what the service answers. The answers come from the demo configuration (auth off, a fresh database in a
temporary directory) with the clock pinned to the fixtures' order date. What differs from call to call is replaced
by placeholders: uuids by `<uuid>`, the form link's signed token by `<link>`, coverage-assertion ids and approval
numbers by `AKR-<id>` / `PA-<id>`,
timestamps by `<time>`. Long parts are shortened where the example says so (the systemAction's `resource` is the
order as sent plus the extension shown; suggestion resources are the order with the change applied).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PINNED_NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # the fixtures' orders are dated 2026-03-02
REQUESTS = ROOT / "fhir_fixtures" / "requests"

BLOCK = re.compile(r"(<!-- example: ([a-z0-9-]+) -->\n)(.*?)(<!-- /example -->)", re.DOTALL)
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
RANDOM_ID = re.compile(r"\b(AKR|PA)-[A-Z0-9]{16}\b")
FORM_LINK = re.compile(r"(/documentation/)[A-Za-z0-9_.\-]+")  # a signed link: it names the random assertion id
STAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")

# The walk-throughs of docs/api.md: example name -> fixture request.
WALKTHROUGHS = {
    "api-ra-complete": "ra-complete",
    "api-office-administered": "office-administered",
    "api-ra-on-humira": "ra-on-humira",
    "api-dose-200mg": "dose-200mg",
    "api-nomid-child-overdose": "nomid-child-overdose",
    "api-ra-missing-preferred": "ra-missing-preferred",
}
README_EXAMPLE = "ra-on-humira"
EXPLAIN_EXAMPLE = "ra-missing-preferred"


def normalise(text: str) -> str:
    text = FORM_LINK.sub(r"\1<link>", text)
    return STAMP.sub("<time>", RANDOM_ID.sub(r"\1-<id>", UUID.sub("<uuid>", text)))


def document_paths() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def pretty(value, depth: int = 0, expand: int = 4) -> str:
    """JSON with the outer levels indented and everything deeper on one line (document-sized)."""
    pad = " " * depth
    if depth >= expand or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        items = [f"{pad} {json.dumps(k)}: {pretty(v, depth + 1, expand)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{pad} {pretty(v, depth + 1, expand)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"


def _service(req: dict) -> str:
    return "anakinra-order-select" if req["hook"] == "order-select" else "anakinra-order-sign"


def _curl(slug: str, service: str, tail: str = "") -> str:
    return (
        "```bash\n"
        "curl -s -X POST -H 'Content-Type: application/json' \\\n"
        f"     --data @fhir_fixtures/requests/{slug}.json \\\n"
        f"     http://127.0.0.1:8080/cds-services/{service}{tail}\n"
        "```\n"
    )


def _coverage_information(resource: dict) -> list[dict]:
    return [e for e in resource.get("extension", []) if "coverage-information" in e["url"]]


def _walkthrough(slug: str, body: dict) -> str:
    """The whole answer, with the systemAction's order and the suggestions' resources shortened."""
    body = json.loads(json.dumps(body))
    for action in body.get("systemActions", []):
        res = action["resource"]
        action["resource"] = {
            "resourceType": res["resourceType"],
            "id": res["id"],
            "...": "the order as sent",
            "extension": _coverage_information(res),
        }
    for card in body["cards"]:
        for sugg in card.get("suggestions", []):
            for action in sugg.get("actions", []):
                if "resource" in action:
                    action["resource"] = {
                        "resourceType": action["resource"]["resourceType"],
                        "...": "the order with the change applied",
                    }
    return (
        _curl(slug, "anakinra-order-sign")
        + "\n<details><summary>Response</summary>\n\n```json\n"
        + pretty(body, expand=6)
        + "\n```\n\n</details>\n"
    )


def _short_answer(slug: str, body: dict) -> str:
    """The README's example: each card's gist and the coverage information without its detail entries."""
    cards = []
    for card in body["cards"]:
        ext = card.get("extension", {})
        gist = {"summary": card["summary"], "indicator": card["indicator"]}
        if card.get("suggestions"):
            gist["suggestions"] = [{"label": s["label"], "...": "actions"} for s in card["suggestions"]]
        gist["extension"] = {k: ext[k] for k in ("anakinra-cds.clauses",) if k in ext}
        gist["..."] = "uuid, detail, source, links, overrideReasons"
        cards.append(gist)
    actions = []
    for action in body.get("systemActions", []):
        info = []
        for ext in _coverage_information(action["resource"]):
            details = [e for e in ext["extension"] if e["url"] == "detail"]
            codes = [
                c["valueCodeableConcept"]["coding"][0]["code"]
                for d in details
                for c in d["extension"]
                if c["url"] == "code"
            ]
            info.append(
                {
                    "url": ext["url"],
                    "extension": [e for e in ext["extension"] if e["url"] != "detail"]
                    + ([{"...": f"detail: {', '.join(codes)}"}] if details else []),
                }
            )
        actions.append(
            {
                "type": action["type"],
                "resource": {
                    "resourceType": action["resource"]["resourceType"],
                    "id": action["resource"]["id"],
                    "...": "the order as sent",
                    "extension": info,
                },
            }
        )
    short = {"cards": cards, "systemActions": actions}
    return (
        _curl(slug, "anakinra-order-sign", " | python3 -m json.tool")
        + "\n```json\n"
        + pretty(short, expand=7)
        + "\n```\n"
    )


def _explain_table(slug: str) -> str:
    from cds_service.cli import main as cli_main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(["explain", str(REQUESTS / f"{slug}.json")])
    if code != 0:
        raise RuntimeError(f"anakinra-cds explain {slug}.json exited {code}")
    return (
        f"```bash\n.venv/bin/anakinra-cds explain fhir_fixtures/requests/{slug}.json\n```\n\n"
        "```text\n" + out.getvalue().rstrip("\n") + "\n```\n"
    )


def render_examples() -> dict[str, str]:
    """Every example's text (markers excluded), from the service's real answers."""
    from cds_service.app import create_app
    from cds_service.config import demo_settings

    examples: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as var:
        settings = demo_settings().with_overrides(var_dir=var, auth_enabled=False)
        client = create_app(settings, clock=lambda: PINNED_NOW).test_client()

        def answer(slug: str) -> dict:
            req = json.loads((REQUESTS / f"{slug}.json").read_text())
            resp = client.post(f"/cds-services/{_service(req)}", json=req)
            if resp.status_code != 200:
                raise RuntimeError(f"{slug}: HTTP {resp.status_code}")
            return resp.get_json()

        for name, slug in WALKTHROUGHS.items():
            examples[name] = _walkthrough(slug, answer(slug))
        examples["readme-request"] = _short_answer(README_EXAMPLE, answer(README_EXAMPLE))
        examples["explain-table"] = _explain_table(EXPLAIN_EXAMPLE)
    return {name: normalise(text) for name, text in examples.items()}


def update_text(text: str, examples: dict[str, str]) -> str:
    """The document with every example block replaced by its generated text (KeyError for an unknown name)."""
    return BLOCK.sub(lambda m: m.group(1) + examples[m.group(2)] + m.group(4), text)


def example_names(text: str) -> list[str]:
    return [m.group(2) for m in BLOCK.finditer(text)]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    examples = render_examples()
    stale = []
    for path in document_paths():
        text = path.read_text()
        unknown = [n for n in example_names(text) if n not in examples]
        if unknown:
            print(f"{path.relative_to(ROOT)}: unknown example(s) {', '.join(unknown)}", file=sys.stderr)
            return 2
        new = update_text(text, examples)
        if new != text:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                path.write_text(new)
    verb = "differ" if check else "updated"
    print(f"{len(stale)} document(s) {verb}" + (f": {', '.join(stale)}" if stale else ""))
    return 1 if (check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
