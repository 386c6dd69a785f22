"""RA disease activity as the chart states it (Table 1: "Moderately to severely active rheumatoid arthritis (RA)";
Table 3 grades RA severity as mild, moderate or severe).

Read from three places, each a `DiseaseActivity` with the level it states (`low`: mild, low activity, remission;
`active`: moderate, severe, high), where it came from and its date:
- the severity of an active, not refuted RA Condition (SNOMED mild / moderate / severe, else its words);
- activity scores as Observations, matched by name (CDAI, SDAI, DAS28, RAPID3: no LOINC code for them is in
  shared/reference), against the published cut-offs (terminology `ra_disease_activity.scores`), and scores quoted in
  an RA Condition's words ("CDAI 6.5"; in a trend "CDAI 31 -> 30" the last value);
- the words of an RA Condition's text and notes ("low disease activity", "in remission", "moderately to severely
  active"), through the negation reader: "not in remission", "? remission" and "goal: low disease activity" state
  nothing.
Nothing here decides coverage: the policy (table1.ra.activity) weighs what is found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from . import text_evidence as te
from .diagnoses import classify
from .fhir_json import codings, concept_text, dicts, parse_date, quantity, ref_of, status_code, text_or_empty
from .memo import ConceptMemo, text_memo
from .model import DiseaseActivity
from .terminology.loader import data, system
from .terminology.names import name_mentions

LOW, ACTIVE = "low", "active"
_ACTIVE_STATUS = {None, "active", "recurrence", "relapse"}
_USABLE_OBS = {"final", "amended", "corrected", "preliminary", None}


def _cfg() -> dict[str, Any]:
    cfg: dict[str, Any] = data()["ra_disease_activity"]
    return cfg


@lru_cache(maxsize=1)
def _score_pattern() -> re.Pattern[str]:
    names = sorted({n for s in _cfg()["scores"].values() for n in s["names"]}, key=len, reverse=True)
    alt = "|".join(re.escape(n) for n in names)
    number = r"(\d+(?:\.\d+)?)"
    return re.compile(
        rf"(?<![a-z0-9])(?P<name>{alt})(?![a-z0-9])\s*(?:score\s*)?(?:of|=|:|was|is)?\s*"
        rf"(?P<values>{number}(?:\s*(?:->|→|to|-+>)\s*{number})*)",
        re.I,
    )


def _score_key(name: str) -> str | None:
    low = name.lower().strip()
    scores: dict[str, dict[str, Any]] = _cfg()["scores"]
    for key, spec in scores.items():
        if low in spec["names"]:
            return key
    return None


def score_level(key: str, value: float) -> str | None:
    """low, active, or None when the value is between the cut-offs (RAPID3 on an unknown scale)."""
    spec = _cfg()["scores"][key]
    if value <= spec["low_max"]:
        return LOW
    if value > spec["active_above"]:
        return ACTIVE
    return None


def _scores_in_text(text: str, source: str, when: date | None) -> list[DiseaseActivity]:
    return [DiseaseActivity(level, what, source, when) for level, what in _text_scores(text)]


@text_memo(maxsize=4096)
def _text_scores(text: str) -> tuple[tuple[str, str], ...]:
    """(level, description) of every activity score a text states (memoised per text: a chart's condition
    texts and notes come back on every call for the member)."""
    out = []
    for sentence in te.sentences(text):
        if re.search(_cfg()["not_a_state"], sentence, re.I):
            continue
        for m in _score_pattern().finditer(sentence):
            key = _score_key(m.group("name"))
            value = float(re.findall(r"\d+(?:\.\d+)?", m.group("values"))[-1])
            level = score_level(key, value) if key else None
            if level:
                out.append((level, f'{key} {value:g} ("{sentence}")'))
    return tuple(out)


def _words_in_text(text: str, source: str, when: date | None) -> list[DiseaseActivity]:
    return [DiseaseActivity(level, what, source, when) for level, what in _text_words(text)]


@text_memo(maxsize=4096)
def _text_words(text: str) -> tuple[tuple[str, str], ...]:
    """(level, description) of every affirmed statement of activity in a text (memoised per text)."""
    out = []
    rules = _cfg()["text_rules"]
    for level in (LOW, ACTIVE):
        for m in te.rule_mentions(text, rules[level]):
            if m.affirmed and not re.search(_cfg()["not_a_state"], m.sentence, re.I):
                out.append((level, f'"{m.sentence}"'))
    return tuple(out)


def _severity(concept: Any, source: str, when: date | None) -> DiseaseActivity | None:
    table = _cfg()["severity_snomed"]
    for c in codings(concept):
        if c.system == system("snomed") and c.code in table:
            return DiseaseActivity(table[c.code], f"severity {c.label()} (SNOMED {c.code})", source, when)
    text = (concept_text(concept) or "").strip().lower()
    levels = {lvl for lvl, words in _cfg()["severity_words"].items() if text in words}
    if len(levels) == 1:
        return DiseaseActivity(levels.pop(), f"severity {text}", source, when)
    return None


def _names_ra(concept: Any) -> bool:
    try:
        return "ra" in classify(concept)[0]
    except (TypeError, ValueError, AttributeError):
        return False


_concept_names_ra = ConceptMemo(_names_ra)  # one classification per distinct condition code (hook path)


def _is_ra(cond: dict[str, Any]) -> bool:
    return _concept_names_ra(cond.get("code"))


def _score_of(concept: Any) -> str | None:
    """The activity score an Observation.code names (cdai, sdai, das28, rapid3), or None."""
    names = " ".join([concept_text(concept) or ""] + [c.display or "" for c in codings(concept)])
    return next((k for k, spec in _cfg()["scores"].items() if name_mentions(names, spec["names"])), None)


_score_for_code = ConceptMemo(_score_of)


def read_disease_activity(
    conditions: Sequence[Any],
    observations: Sequence[Any],
    as_of: date,
) -> tuple[DiseaseActivity, ...]:
    """Every statement of RA disease activity the chart makes on or before `as_of`."""
    out: list[DiseaseActivity] = []
    for cond in conditions:
        if (
            not isinstance(cond, dict)
            or status_code(cond.get("verificationStatus")) in ("refuted", "entered-in-error")
            or status_code(cond.get("clinicalStatus")) not in _ACTIVE_STATUS
        ):
            continue
        if not _is_ra(cond):
            continue
        src = ref_of(cond)
        recorded = parse_date(cond.get("recordedDate")) or parse_date(cond.get("onsetDateTime"))
        sev = _severity(cond.get("severity"), src, recorded) if isinstance(cond.get("severity"), dict) else None
        if sev:
            out.append(sev)
        text = concept_text(cond.get("code")) or ""
        out.extend(_words_in_text(text, src, recorded) + _scores_in_text(text, src, recorded))
        for i, note in enumerate(dicts(cond.get("note"))):
            words = text_or_empty(note.get("text"))
            when = parse_date(note.get("time")) or recorded
            where = f"{src}.note[{i}]"
            out.extend(_words_in_text(words, where, when) + _scores_in_text(words, where, when))
    for obs in observations:
        status = obs.get("status") if isinstance(obs, dict) else None
        if not isinstance(obs, dict) or not (status is None or isinstance(status, str)) or status not in _USABLE_OBS:
            continue
        key = _score_for_code(obs.get("code"))
        if key is None:
            continue
        when = parse_date(obs.get("effectiveDateTime")) or parse_date(obs.get("issued"))
        if when is not None and when > as_of:
            continue
        value, _ = quantity(obs.get("valueQuantity"))
        src = ref_of(obs)
        if value is not None:
            level = score_level(key, value)
            if level:
                out.append(DiseaseActivity(level, f"{key} {value:g}", src, when))
            continue
        words = concept_text(obs.get("valueCodeableConcept")) or (text_or_empty(obs.get("valueString")))
        out.extend(_words_in_text(words, src, when))
    return tuple(out)


__all__ = ["ACTIVE", "LOW", "DiseaseActivity", "read_disease_activity", "score_level"]
