"""Answers by linkId, and which items are enabled (R4 `enableWhen` / `enableBehavior`).

An answer is the FHIR dict of a QuestionnaireResponse answer: `{"valueBoolean": true, "extension": [...]}`.
Answers are kept in a flat map linkId -> list of answers (linkIds are unique in a Questionnaire).

enableWhen, as R4 defines it:
- `exists`: answerBoolean true -> the question has an answer; false -> it has none.
- `=`: some answer equals the value. `!=`: no answer equals it (so also true when unanswered).
- `<`, `>`, `<=`, `>=`: some answer compares so (numbers with numbers, dates with dates of the same
  precision, strings with strings); unanswered or incomparable -> false.
- Several conditions: `enableBehavior` all (the default) or any.
An item is enabled only when its parent is; a disabled item's answers do not count for other items'
conditions (worked out to a fixed point, so the order of items does not matter).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .questionnaire_items import FormDefinition, FormItem

VALUE_PREFIX = "value"


def answer_value(answer: dict) -> tuple[str, Any] | None:
    """(type, value) of an answer or enableWhen answer: ("Boolean", True), ("Coding", {...}), ..."""
    for key, value in answer.items():
        for prefix in (VALUE_PREFIX, "answer"):
            if key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix)].isupper():
                return key[len(prefix) :], value
    return None


def answers_from_response(response: dict | None) -> dict[str, list[dict]]:
    """The answers of a QuestionnaireResponse by linkId (items nested in groups and in answers included)."""
    out: dict[str, list[dict]] = {}

    def walk(items):
        for item in items or ():
            if not isinstance(item, dict):
                continue
            link_id = item.get("linkId")
            for answer in item.get("answer") or ():
                if isinstance(answer, dict) and answer_value(answer) is not None and isinstance(link_id, str):
                    out.setdefault(link_id, []).append(answer)
                if isinstance(answer, dict):
                    walk(answer.get("item"))
            walk(item.get("item"))

    if isinstance(response, dict):
        walk(response.get("item"))
    return out


def _number(kind: str, value) -> Decimal | None:
    if kind not in ("Integer", "Decimal") or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _temporal(kind: str, value):
    if kind not in ("Date", "DateTime", "Time") or not isinstance(value, str):
        return None
    if kind == "Time":
        return ("time", value)
    if len(value) == 10:
        try:
            return ("date", date.fromisoformat(value))
        except ValueError:
            return None
    if len(value) > 10:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return ("datetime", parsed) if parsed.tzinfo else ("naive", parsed)
    return ("partial", value)  # YYYY or YYYY-MM: compared as text with the same precision


def values_equal(a: tuple[str, Any] | None, b: tuple[str, Any] | None) -> bool:
    """Whether two (type, value) answers say the same; an absent answer equals nothing."""
    if a is None or b is None:
        return False
    (ka, va), (kb, vb) = a, b
    if ka == "Coding" and kb == "Coding":
        va, vb = va or {}, vb or {}
        if not va.get("code") or va.get("code") != vb.get("code"):
            return False
        return not va.get("system") or not vb.get("system") or va["system"] == vb["system"]
    na, nb = _number(ka, va), _number(kb, vb)
    if na is not None and nb is not None:
        return na == nb
    ta, tb = _temporal(ka, va), _temporal(kb, vb)
    if ta is not None and tb is not None:
        return ta[0] == tb[0] and ta[1] == tb[1]
    if ka == "Reference" and kb == "Reference":
        return (va or {}).get("reference") == (vb or {}).get("reference")
    return ka == kb and va == vb


def _compare(a: tuple[str, object], b: tuple[str, object]) -> int | None:
    """-1 / 0 / 1, or None when the two cannot be ordered."""
    (ka, va), (kb, vb) = a, b
    na, nb = _number(ka, va), _number(kb, vb)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    ta, tb = _temporal(ka, va), _temporal(kb, vb)
    if ta is not None and tb is not None:
        if ta[0] != tb[0] or (ta[0] == "partial" and len(ta[1]) != len(tb[1])):
            return None
        return (ta[1] > tb[1]) - (ta[1] < tb[1])
    if ka == kb == "String" and isinstance(va, str) and isinstance(vb, str):
        return (va > vb) - (va < vb)
    return None


def condition_holds(operator: str, expected: dict, answers: list[dict]) -> bool:
    """One enableWhen condition over the answers given to its question."""
    if operator == "exists":
        want = expected.get("answerBoolean")
        return bool(answers) if want is not False else not answers
    target = answer_value(expected)
    if target is None:
        return False
    values = [v for v in (answer_value(a) for a in answers) if v is not None]
    if operator == "=":
        return any(values_equal(v, target) for v in values)
    if operator == "!=":
        return not any(values_equal(v, target) for v in values)
    tests = {"<": lambda c: c < 0, ">": lambda c: c > 0, "<=": lambda c: c <= 0, ">=": lambda c: c >= 0}
    test = tests.get(operator)
    if test is None:
        return False
    for v in values:
        c = _compare(v, target)
        if c is not None and test(c):
            return True
    return False


def _own_condition(item: FormItem, answers: dict[str, list[dict]]) -> bool:
    if not item.enable_when:
        return True
    results = [condition_holds(ew.operator, ew.answer, answers.get(ew.question, [])) for ew in item.enable_when]
    return any(results) if item.enable_behavior == "any" else all(results)


def _walk_enabled(items, parent_on: bool, live: dict[str, list[dict]], out: set[str]) -> None:
    """Add to `out` the linkIds of `items` (and their children) enabled under these answers."""
    for item in items:
        on = parent_on and _own_condition(item, live)
        if on:
            out.add(item.link_id)
        _walk_enabled(item.children, on, live, out)


def enabled_link_ids(form: FormDefinition, answers: dict[str, list[dict]]) -> set[str]:
    """The linkIds of the enabled items, given these answers (answers of disabled items are ignored)."""
    enabled = {item.link_id for item in form.walk()}
    for _ in range(len(enabled) + 1):
        live = {k: v for k, v in answers.items() if k in enabled}
        now: set[str] = set()

        _walk_enabled(form.items, True, live, now)
        if now == enabled:
            break
        enabled = now
    return enabled
