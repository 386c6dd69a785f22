"""Reading a CDS Hooks response the way the tests need it."""

from __future__ import annotations

EXT = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"


def coverage_infos(body: dict) -> dict[str, dict]:
    """order reference -> {sub-extension url: [values]} of its coverage-information extension."""
    out = {}
    for action in body.get("systemActions", []):
        res = action["resource"]
        for ext in res.get("extension", []):
            if ext["url"] != EXT:
                continue
            values: dict[str, list] = {}
            for sub in ext["extension"]:
                val = next((v for k, v in sub.items() if k.startswith("value")), sub.get("extension"))
                values.setdefault(sub["url"], []).append(val)
            out[f"{res['resourceType']}/{res['id']}"] = values
    return out


def determinations(body: dict) -> list[str]:
    return [v["covered"][0] for v in coverage_infos(body).values()]


def card_kinds(body: dict) -> list[str]:
    return [c["extension"]["anakinra-cds.finding"] for c in body["cards"] if "extension" in c]


def cited(body: dict) -> set[str]:
    out: set[str] = set()
    for c in body["cards"]:
        out.update(c.get("extension", {}).get("anakinra-cds.clauses", []))
    return out


def walk(node: dict):
    yield node
    for child in node.get("children", []):
        yield from walk(child)


def clause_outcomes(explanation: dict) -> dict[str, str]:
    out = {}
    for order in explanation["orders"]:
        for top in order["clauses"]:
            for node in walk(top):
                out[node["clause"]] = node["outcome"]
    return out
