"""The guideline's documentation questionnaire as FHIR R4 (Da Vinci DTR 2.2 standard questionnaire, SDC 4.0.0).

Generated from the questions data (`policy/questions.py`), never written by hand: one item group per thing a
clause can ask of the prescriber, each naming the clause ids it answers (`item.code`, system
`urn:anakinra-cds:clause`), shown only when relevant (`enableWhen` on the indication and pathway questions, which
the service pre-fills), coded answers from value sets the package carries expanded. `url` + `version` follow the
guideline revision (version '<revision>.<n>', `artifact-versionAlgorithm` natural: SDC sdc-2).
"""

from __future__ import annotations

from ..policy.data_loader import Policy
from ..policy.questions import Questions, load_questions

DTR_STD_QUESTIONNAIRE = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire"
VERSION_ALGORITHM_EXT = "http://hl7.org/fhir/StructureDefinition/artifact-versionAlgorithm"
VERSION_ALGORITHM_CS = "http://hl7.org/fhir/version-algorithm"
QUESTIONNAIRE_ID = "kineret-09-J0000-45"


def fhir_base(base_url: str) -> str:
    """The service's FHIR base (`<external base>/fhir`), where its Questionnaire and ValueSets live."""
    return base_url.rstrip("/") + "/fhir"


def questionnaire_url(base_url: str, questions: Questions | None = None) -> str:
    questions = questions or load_questions()
    return f"{fhir_base(base_url)}/{questions.data['path']}"


def questionnaire_canonical(base_url: str, questions: Questions | None = None) -> str:
    """The version-specific canonical (`url|version`) a QuestionnaireResponse and coverage information name."""
    questions = questions or load_questions()
    return f"{questionnaire_url(base_url, questions)}|{questions.version}"


def value_set_url(base_url: str, key: str, questions: Questions) -> str:
    return f"{fhir_base(base_url)}/{questions.data['value_sets'][key]['path']}"


def value_set_codes(policy: Policy, questions: Questions, key: str) -> list[tuple[str, str, str]]:
    """(system, code, display) of one value set, in order: from the guideline data and the set's own codes."""
    spec = questions.data["value_sets"][key]
    system = spec["system"]
    out: list[tuple[str, str, str]] = []
    source = spec.get("from_policy")
    if source == "indications":
        out += [(system, k, v["label"]) for k, v in policy.indications.items()]
    elif source == "ra_preferred_products":
        out += [(system, k, label) for k, label in policy.data["ra_preferred_products"].items()]
    elif source == "ra_conventional_agents":
        out += [(system, k, k) for k in policy.data["ra_conventional_agents"]]
    out += [(system, code, display) for code, display in spec.get("codes", {}).items()]
    return out


def build_value_sets(policy: Policy, base_url: str, questions: Questions | None = None) -> list[dict]:
    """Every ValueSet the questionnaire names, with its expansion (each is under 40 codes: DTR §oper-15)."""
    questions = questions or load_questions(policy)
    out = []
    for key, spec in questions.data["value_sets"].items():
        codes = value_set_codes(policy, questions, key)
        by_system: dict[str, list[dict]] = {}
        for system, code, display in codes:
            by_system.setdefault(system, []).append({"code": code, "display": display})
        out.append(
            {
                "resourceType": "ValueSet",
                "id": spec["path"].split("/", 1)[1],
                "url": value_set_url(base_url, key, questions),
                "version": questions.version,
                "name": "".join(part.capitalize() for part in spec["path"].split("/", 1)[1].split("-")),
                "title": spec["title"],
                "status": "active",
                "compose": {"include": [{"system": s, "concept": c} for s, c in by_system.items()]},
                "expansion": {
                    "timestamp": f"{questions.revision}T00:00:00Z",
                    "total": len(codes),
                    "contains": [{"system": s, "code": c, "display": d} for s, c, d in codes],
                },
            }
        )
    return out


def _enable_when(conditions: list[dict], questions: Questions) -> list[dict]:
    out = []
    for cond in conditions:
        if "boolean" in cond:
            out.append({"question": cond["question"], "operator": "=", "answerBoolean": bool(cond["boolean"])})
        else:
            asked = questions.by_link_id()[cond["question"]]
            system = questions.data["value_sets"][asked["answer_value_set"]]["system"]
            out.append(
                {
                    "question": cond["question"],
                    "operator": "=",
                    "answerCoding": {"system": system, "code": cond["code"]},
                }
            )
    return out


def _item(spec: dict, policy: Policy, questions: Questions, base_url: str) -> dict:
    item: dict = {"linkId": spec["linkId"]}
    clauses = spec.get("clauses", ())
    if clauses:
        item["code"] = [
            {
                "system": questions.data["clause_system"],
                "code": cid,
                **({"display": policy.clauses[cid][:250]} if policy.clauses.get(cid) else {}),
            }
            for cid in clauses
        ]
    item["text"] = spec["text"]
    item["type"] = spec.get("type", "group")
    if spec.get("enable_when"):
        item["enableWhen"] = _enable_when(spec["enable_when"], questions)
        if len(spec["enable_when"]) > 1:
            item["enableBehavior"] = "all"
    if "required" in spec:
        item["required"] = bool(spec["required"])
    if spec.get("repeats"):
        item["repeats"] = True
    if spec.get("answer_value_set"):
        item["answerValueSet"] = f"{value_set_url(base_url, spec['answer_value_set'], questions)}|{questions.version}"
    children = spec.get("items")
    if children:
        item["item"] = [_item(c, policy, questions, base_url) for c in children]
    return item


def build_questionnaire(policy: Policy, base_url: str, questions: Questions | None = None) -> dict:
    """The FHIR R4 Questionnaire of the guideline (a dict), generated from the questions data."""
    questions = questions or load_questions(policy)
    data = questions.data
    groups = []
    for group in data["groups"]:
        spec = {**group, "type": "group"}
        groups.append(_item(spec, policy, questions, base_url))
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "meta": {"profile": [DTR_STD_QUESTIONNAIRE]},
        "extension": [
            {"url": VERSION_ALGORITHM_EXT, "valueCoding": {"system": VERSION_ALGORITHM_CS, "code": "natural"}}
        ],
        "url": questionnaire_url(base_url, questions),
        "version": questions.version,
        "name": data["name"],
        "title": data["title"],
        "status": "active",
        "subjectType": ["Patient"],
        "date": questions.revision,
        "publisher": policy.plan,
        "description": f"Documentation for coverage guideline {policy.id} (revision {policy.revision}), "
        f"{policy.title}: only the questions the chart leaves open need answers.",
        "item": [_item(c, policy, questions, base_url) for c in data["context_items"]] + groups,
    }


__all__ = [
    "QUESTIONNAIRE_ID",
    "build_questionnaire",
    "build_value_sets",
    "fhir_base",
    "questionnaire_canonical",
    "questionnaire_url",
    "value_set_codes",
]
