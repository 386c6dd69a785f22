"""Clinical kinds of a condition or procedure, and the indications a diagnosis's text names.

A kind (infection, pneumonia, sars_cov_2_prior, mas, oxygen ...: terminology `condition_kinds`, `procedure_kinds`)
is affirmed by a listed code, else by its names in the text, read by `text_evidence` (an explicit, unnegated,
unqualified statement): coded data first, then text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from . import text_evidence as te
from .memo import text_memo
from .model import Code
from .terminology.codes import any_icd10_coded, kind_code_matches
from .terminology.loader import data
from .terminology.names import name_mentions


@text_memo(maxsize=8192)
def indications_for_text(text: str | None) -> frozenset[str]:
    """Indications the text names, unnegated ("NOMID ruled out", "possible DIRA" and "family history of CAPS"
    name none)."""
    if not text:
        return frozenset()
    found = set()
    for key, names in data()["indication_names"].items():
        if key.startswith("_"):
            continue
        # A diagnosis named only as negated, possible or a relative's ("rule out Still's disease", "family
        # history of rheumatoid arthritis") is not named; "history of" a chronic disease still names it.
        if name_mentions(text, names) and te.status(te.mentions(text, names), history_affirms=True) == te.AFFIRMED:
            found.add(key)
    # "systemic juvenile idiopathic arthritis" also says "arthritis" but not RA; keep the specific one.
    if "still" in found:
        found.discard("ra")
    return frozenset(found)


def _name_status(entry: dict[str, Any], text: str | None) -> str | None:
    """How the text states the kind's names: affirmed, negated, uncertain, historical, family (None: not named).
    An entry's `history_counts` (a criterion about a past event: a prior SARS-CoV-2 infection) makes a historical
    mention affirm; its `contradicted_by` phrases, stated in the same text, leave an affirmed mention uncertain
    ("required oxygen, now on room air")."""
    names = entry.get("names")
    if not text or not names:
        return None
    state = te.status(te.mentions(text, names), history_affirms=bool(entry.get("history_counts")))
    if state == te.AFFIRMED and entry.get("contradicted_by") and te.affirms(text, entry["contradicted_by"]):
        return te.UNCERTAIN
    return state


def _kind_state(
    entry: dict[str, Any], codes: Collection[Code], text: str | None, *, names_with_icd10: bool = False
) -> str | None:
    """ "affirmed" when a code says so, else how the text states the kind (None: not named at all).

    ICD-10-CM is a complete classification: when the concept carries an ICD-10-CM code, its code decides
    (so "Post COVID-19 condition", U09.9, is not read as an active COVID-19 infection). Our SNOMED lists are
    partial, so SNOMED-only, locally coded and text-only concepts are also matched by name: coded data first,
    then text, and text only as an explicit, unnegated, unqualified statement (facts/text_evidence.py)."""
    if any(kind_code_matches(entry, c) for c in codes):
        return "affirmed"
    if not (names_with_icd10 or entry.get("names_with_icd10")) and any_icd10_coded(codes):
        return None
    state = _name_status(entry, text)
    # A name counts unless the text also says it is only an exposure, a suspicion ... (names_exclude).
    if state == "affirmed" and name_mentions(text, entry.get("names_exclude", [])):
        return "uncertain"
    return state


def condition_kinds(codes: Iterable[Code], text: str | None) -> frozenset[str]:
    """Clinical kinds (infection, pneumonia, sars_cov_2_prior, mas, oxygen ...) a condition's codes or its text
    affirm."""
    return frozenset(k for k, state in _condition_kinds(tuple(codes), text) if state == "affirmed")


def condition_kinds_hedged(codes: Iterable[Code], text: str | None) -> tuple[tuple[str, str], ...]:
    """(kind, status) for the kinds a condition's text names without affirming them: negated ("no supplemental
    oxygen requirement"), uncertain ("? MAS", "r/o sepsis"), historical ("history of pneumonia, resolved"),
    family ("family history of HLH")."""
    return tuple((k, state) for k, state in _condition_kinds(tuple(codes), text) if state != "affirmed")


@text_memo(maxsize=8192)
def _condition_kinds(codes: tuple[Code, ...], text: str | None) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for kind, entry in data()["condition_kinds"].items():
        if kind.startswith("_"):
            continue
        state = _kind_state(entry, codes, text)
        if state is not None:
            out.append((kind, state))
    return tuple(out)


def procedure_kinds(codes: Collection[Code], text: str | None) -> frozenset[str]:
    out: set[str] = set()
    for kind, entry in data()["procedure_kinds"].items():
        if kind.startswith("_"):
            continue
        if _kind_state(entry, codes, text, names_with_icd10=True) == "affirmed":
            out.add(kind)
    return frozenset(out)
