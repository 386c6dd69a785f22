"""Filling a package's pre-filled QuestionnaireResponse programmatically, as the form would."""

from __future__ import annotations

import copy

ORIGIN = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/information-origin"


def _path(items: list[dict], link: str) -> list[dict] | None:
    """The Questionnaire items from the top down to `link`."""
    for item in items:
        if item["linkId"] == link:
            return [item]
        below = _path(item.get("item", []), link)
        if below:
            return [item, *below]
    return None


def _manual(value: dict, practitioner: str) -> dict:
    return {
        **value,
        "extension": [
            {
                "url": ORIGIN,
                "extension": [
                    {"url": "source", "valueCode": "manual"},
                    {
                        "url": "author",
                        "extension": [{"url": "practitioner", "valueReference": {"reference": practitioner}}],
                    },
                ],
            }
        ],
    }


def answer(qr: dict, questionnaire: dict, link: str, *values: dict, practitioner: str = "Practitioner/p1") -> dict:
    """`qr` with `link` answered by `values` (e.g. {"valueBoolean": True}), replacing any earlier answer."""
    path = _path(questionnaire["item"], link)
    assert path, f"no question {link}"
    items = qr.setdefault("item", [])
    for spec in path[:-1]:
        group = next((i for i in items if i["linkId"] == spec["linkId"]), None)
        if group is None:
            group = {"linkId": spec["linkId"], "text": spec["text"], "item": []}
            items.append(group)
        items = group.setdefault("item", [])
    items[:] = [i for i in items if i["linkId"] != link]
    items.append({"linkId": link, "text": path[-1]["text"], "answer": [_manual(v, practitioner) for v in values]})
    return qr


def completed(qr: dict, *, author: str = "Practitioner/p1", authored: str = "2026-03-02T15:10:00Z") -> dict:
    out = copy.deepcopy(qr)
    out["status"] = "completed"
    out["author"] = {"reference": author}
    out["authored"] = authored
    return out
