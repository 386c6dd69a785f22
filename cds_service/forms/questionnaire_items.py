"""An R4 Questionnaire read into `FormItem`s: what the form renders and the validator checks.

Answer options come from `answerOption`, or from `answerValueSet` resolved against the expanded
ValueSets given beside the Questionnaire (matched by canonical, with or without `|version`). A choice
item whose value set is not among them has no options: the form says so and it cannot be answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HIDDEN_URL = "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden"

#: Item types the form can render and validate; anything else is shown read-only (its pre-filled answer kept).
SUPPORTED_TYPES = frozenset(
    {
        "group",
        "display",
        "boolean",
        "decimal",
        "integer",
        "date",
        "dateTime",
        "time",
        "string",
        "text",
        "choice",
        "open-choice",
    }
)
QUESTION_TYPES = SUPPORTED_TYPES - {"group", "display"}

#: The answer value[x] key each scalar item type produces.
VALUE_KEY_FOR_TYPE = {
    "boolean": "valueBoolean",
    "decimal": "valueDecimal",
    "integer": "valueInteger",
    "date": "valueDate",
    "dateTime": "valueDateTime",
    "time": "valueTime",
    "string": "valueString",
    "text": "valueString",
}
OPTION_VALUE_KEYS = ("valueCoding", "valueString", "valueInteger", "valueDate", "valueTime")


class QuestionnaireError(ValueError):
    """The Questionnaire cannot be rendered (not a Questionnaire, an item without linkId, a duplicate linkId)."""


@dataclass(frozen=True)
class AnswerOption:
    key: str  # stable form value: "coding:<system>|<code>", "string:<text>", ...
    label: str
    value: dict  # {"valueCoding": {...}} / {"valueString": ...}: what goes into the answer


@dataclass(frozen=True)
class EnableWhen:
    question: str
    operator: str
    answer: dict  # {"answerBoolean": true} etc.


@dataclass
class FormItem:
    link_id: str
    type: str
    text: str
    prefix: str = ""
    required: bool = False
    repeats: bool = False
    read_only: bool = False
    hidden: bool = False
    max_length: int | None = None
    enable_when: tuple[EnableWhen, ...] = ()
    enable_behavior: str = "all"
    options: tuple[AnswerOption, ...] = ()
    options_missing: bool = False  # answerValueSet given but not among the ValueSets
    initial: tuple[dict, ...] = ()  # answers ({"valueX": ...}) from `initial`
    children: list[FormItem] = field(default_factory=list)
    parent: FormItem | None = None

    @property
    def supported(self) -> bool:
        return self.type in SUPPORTED_TYPES

    @property
    def is_question(self) -> bool:
        return self.type not in ("group", "display")

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class FormDefinition:
    questionnaire: dict
    items: list[FormItem]
    by_link_id: dict[str, FormItem]

    @property
    def canonical(self) -> str | None:
        url = self.questionnaire.get("url")
        if not url:
            return None
        version = self.questionnaire.get("version")
        return f"{url}|{version}" if version else url

    @property
    def title(self) -> str:
        q = self.questionnaire
        return q.get("title") or q.get("name") or "Documentation"

    def walk(self):
        for item in self.items:
            yield from item.walk()


def option_key(value: dict) -> str:
    """The form value that stands for one answer value (an option, or an answer to match against them)."""
    if "valueCoding" in value:
        c = value["valueCoding"] or {}
        return f"coding:{c.get('system', '')}|{c.get('code', '')}"
    for key in OPTION_VALUE_KEYS[1:]:
        if key in value:
            return f"{key[5:].lower()}:{value[key]}"
    return ""


def _option_label(value: dict) -> str:
    if "valueCoding" in value:
        c = value["valueCoding"] or {}
        return str(c.get("display") or c.get("code") or "")
    for key in OPTION_VALUE_KEYS[1:]:
        if key in value:
            return str(value[key])
    return ""


def _valueset_index(valuesets) -> dict[str, dict]:
    index: dict[str, dict] = {}
    for vs in valuesets or ():
        if not isinstance(vs, dict) or vs.get("resourceType") != "ValueSet" or not vs.get("url"):
            continue
        index.setdefault(vs["url"], vs)
        if vs.get("version"):
            index[f"{vs['url']}|{vs['version']}"] = vs
    return index


def _expansion_options(vs: dict) -> list[AnswerOption]:
    out: list[AnswerOption] = []

    def walk(entries):
        for e in entries or ():
            if e.get("code") and not e.get("abstract") and not e.get("inactive"):
                coding = {k: e[k] for k in ("system", "version", "code", "display") if e.get(k)}
                value = {"valueCoding": coding}
                out.append(AnswerOption(option_key(value), _option_label(value), value))
            walk(e.get("contains"))

    walk((vs.get("expansion") or {}).get("contains"))
    return out


def _options(raw: dict, valuesets: dict[str, dict]) -> tuple[tuple[AnswerOption, ...], bool]:
    if raw.get("answerOption"):
        opts = []
        for o in raw["answerOption"]:
            value = {k: o[k] for k in OPTION_VALUE_KEYS if k in o}
            if value:
                opts.append(AnswerOption(option_key(value), _option_label(value), value))
        return tuple(opts), False
    canonical = raw.get("answerValueSet")
    if canonical:
        vs = valuesets.get(canonical) or valuesets.get(canonical.split("|", 1)[0])
        if vs is None:
            return (), True
        return tuple(_expansion_options(vs)), False
    return (), False


def _initial(raw: dict) -> tuple[dict, ...]:
    out = []
    for init in raw.get("initial") or ():
        value = {k: v for k, v in init.items() if k.startswith("value")}
        if value:
            out.append(value)
    for o in raw.get("answerOption") or ():  # answerOption.initialSelected
        if o.get("initialSelected"):
            value = {k: o[k] for k in OPTION_VALUE_KEYS if k in o}
            if value:
                out.append(value)
    return tuple(out)


def _is_hidden(raw: dict) -> bool:
    return any(e.get("url") == HIDDEN_URL and e.get("valueBoolean") is True for e in raw.get("extension") or ())


def _read_item(raw: dict, parent: FormItem | None, valuesets: dict, seen: dict[str, FormItem]) -> FormItem:
    if not isinstance(raw, dict) or not isinstance(raw.get("linkId"), str) or not raw["linkId"]:
        raise QuestionnaireError("every Questionnaire item needs a linkId")
    link_id = raw["linkId"]
    if link_id in seen:
        raise QuestionnaireError(f"linkId {link_id!r} is used more than once")
    options, missing = _options(raw, valuesets)
    item = FormItem(
        link_id=link_id,
        type=str(raw.get("type") or ""),
        text=str(raw.get("text") or ""),
        prefix=str(raw.get("prefix") or ""),
        required=raw.get("required") is True,
        repeats=raw.get("repeats") is True,
        read_only=raw.get("readOnly") is True,
        hidden=_is_hidden(raw),
        max_length=raw.get("maxLength") if isinstance(raw.get("maxLength"), int) else None,
        enable_when=tuple(
            EnableWhen(
                str(ew.get("question")),
                str(ew.get("operator")),
                {k: v for k, v in ew.items() if k.startswith("answer")},
            )
            for ew in raw.get("enableWhen") or ()
            if isinstance(ew, dict)
        ),
        enable_behavior="any" if raw.get("enableBehavior") == "any" else "all",
        options=options,
        options_missing=missing,
        initial=_initial(raw),
        parent=parent,
    )
    seen[link_id] = item
    item.children = [_read_item(child, item, valuesets, seen) for child in raw.get("item") or ()]
    return item


def read_questionnaire(questionnaire: dict, valuesets=()) -> FormDefinition:
    """The Questionnaire (a dict) as a `FormDefinition`; raises QuestionnaireError when it cannot be used."""
    if not isinstance(questionnaire, dict) or questionnaire.get("resourceType") != "Questionnaire":
        raise QuestionnaireError("not a Questionnaire")
    index = _valueset_index(valuesets)
    seen: dict[str, FormItem] = {}
    items = [_read_item(raw, None, index, seen) for raw in questionnaire.get("item") or ()]
    return FormDefinition(questionnaire=questionnaire, items=items, by_link_id=seen)
