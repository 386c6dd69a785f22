"""Wording as data: the regular expressions of the terminology data, compiled once.

Phrasings that say what a supply was (`supply_types`), how a therapy worked (`response_patterns`), why it was
stopped (`stop_reasons`) and how often a dose is taken (`dose_frequency_text`) are patterns rather than names. This
module compiles them and finds them; it does not weigh negation or qualification beyond what a section's own data
says (`supply_types.negations`): readers that must, use `facts/text_evidence.py`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..memo import text_memo
from .loader import data


def any_of_patterns(patterns: list[str]) -> re.Pattern[str]:
    """One case-insensitive pattern that matches somewhere in a text exactly when one of `patterns`
    does (an alternation of non-capturing groups): one scan instead of one per pattern."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


@lru_cache(maxsize=1)
def response_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(no benefit, benefit): one alternation of each list of `response_patterns`, to find candidates in one scan."""
    raw = data()["response_patterns"]
    return any_of_patterns(raw["no_benefit"]), any_of_patterns(raw["benefit"])


@lru_cache(maxsize=1)
def _supply_patterns() -> tuple[re.Pattern[str], list[re.Pattern[str]]]:
    raw = data()["supply_types"]
    return any_of_patterns(raw["text"]), [re.compile(p, re.I) for p in raw["negations"]]


@text_memo(maxsize=8192)
def supply_type_for_text(text: str | None) -> str | None:
    """The phrase that says a supply was a sample, starter, free or trial supply ("samples given in
    clinic"), unless negated just before it ("not a sample", "no samples"); None otherwise."""
    if not text:
        return None
    pattern, negations = _supply_patterns()
    for m in pattern.finditer(text):
        before = text[max(0, m.start() - 40) : m.start()]
        if not any(n.search(before) for n in negations):
            return m.group(0).lower()
    return None


@lru_cache(maxsize=1)
def stop_reason_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(ineffective, adverse): the wording of `stop_reasons` that says a therapy was stopped for lack of effect, for
    an adverse effect."""
    raw = data()["stop_reasons"]
    return any_of_patterns(raw["ineffective"]), any_of_patterns(raw["adverse"])


@lru_cache(maxsize=1)
def dose_frequency_patterns() -> tuple[tuple[re.Pattern[str], float], ...]:
    """(pattern, doses per day) of `dose_frequency_text`, in its order: the first that occurs in a dosage's text
    says how often the dose is taken."""
    return tuple(
        (any_of_patterns(rule["patterns"]), rule["times"] / rule["every_days"])
        for rule in data()["dose_frequency_text"]["rules"]
    )


def warm_up() -> None:
    """Compile the patterns now (at start), not in the first call that needs them."""
    response_patterns()
    _supply_patterns()
    stop_reason_patterns()
    dose_frequency_patterns()
