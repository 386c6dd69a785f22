"""What a prescriber's or a chart's text states, recognised by meaning with `text_evidence`.

The rules are terminology data (`prescriber_statements`, `chart_statements`, `response_patterns`,
`methotrexate_dose_limit`, `route_intolerance_names`); only an affirmed statement is one ("I cannot confirm ...",
"not at risk", "consult pending" state nothing), and the mentions that are not say why a statement was not taken.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from . import text_evidence as te
from .memo import text_memo
from .terminology.loader import data
from .terminology.names import name_mentions
from .terminology.wording import response_patterns


@lru_cache(maxsize=1)
def _statement_rules() -> tuple[tuple[str, tuple[te.RuleKey, ...]], ...]:
    raw = data()["prescriber_statements"]
    return tuple((k, tuple(te.rule_key(r) for r in v)) for k, v in raw.items() if not k.startswith("_"))


def prescriber_statements(text: str | None) -> list[tuple[str, str]]:
    """(key, sentence) for every statement the text makes, recognised by meaning (the rules of
    `prescriber_statements`): a sentence states a key when one of its rules' concepts are all there, none
    negated or hedged ("I cannot confirm ...", "not at risk", "consult pending" state nothing)."""
    return [(k, m.sentence) for k, m in prescriber_statement_mentions(text) if m.affirmed]


def prescriber_statement_mentions(text: str | None) -> list[tuple[str, te.Mention]]:
    """(key, Mention) for every sentence that speaks to a statement key, stated or not (negated, hedged): the
    ones not affirmed say why a statement in the notes was not taken as one."""
    return _statement_mentions(text, _statement_rules())


def _statement_mentions(
    text: str | None,
    keyed_rules: Iterable[tuple[str, tuple[te.RuleKey, ...]]],
) -> list[tuple[str, te.Mention]]:
    """(key, Mention) of every sentence that speaks to one of the keys, read with the 'statement' profile; a
    qualifying heading ("Not confirmed: ...") governs the whole sentence (`header_status`)."""
    if not text:
        return []
    out: list[tuple[str, te.Mention]] = []
    for key, rules in keyed_rules:
        for found in te.rule_mentions(text, rules, "statement"):
            m = found
            if m.affirmed and (head := header_status(m.sentence)) is not None:
                m = te.Mention(m.phrase, head[0], m.sentence, head[1])
            out.append((key, m))
    return out


@lru_cache(maxsize=1)
def _chart_statement_rules() -> tuple[tuple[str, tuple[te.RuleKey, ...]], ...]:
    raw = data().get("chart_statements", {})
    return tuple((k, tuple(te.rule_key(r) for r in v)) for k, v in raw.items() if not k.startswith("_"))


_HEADER = re.compile(r"^\s*([^:.;]{1,40}):")


def header_status(sentence: str, profile: str = "statement") -> tuple[str, str] | None:
    """(status, cue) of a short heading that qualifies a whole sentence ("Not confirmed: ...", "Ruled out: ...",
    "Possible: ..."): a cue in a heading of at most five words before a colon governs everything after it, however
    far (the reader's word window would not reach). None when there is no such heading, or it holds no cue."""
    m = _HEADER.match(sentence)
    if m is None or len(m.group(1).split()) > 5:
        return None
    head = m.group(1).lower()
    c = te.cues(profile)
    for cat in c.priority:
        pattern = c.pre.get(cat)
        found = pattern.search(head) if pattern is not None else None
        if found is not None:
            return cat, found.group(0)
    return None


def chart_statement_mentions(text: str | None) -> list[tuple[str, te.Mention]]:
    """(key, Mention) for every sentence of a chart note that speaks to a `chart_statements` key, stated (affirmed)
    or not (negated, hedged), read like the prescriber's statements (profile 'statement'); a qualifying heading
    ("Not confirmed: ...") governs the whole sentence (`header_status`)."""
    return _statement_mentions(text, _chart_statement_rules())


def response_of(text: str | None) -> str | None:
    """'no-benefit', 'benefit' or None for a medication record's notes."""
    if not text:
        return None
    return _response_of_text(text)


@text_memo(maxsize=8192)
def _response_of_text(text: str) -> str | None:
    no, yes = response_patterns()
    raw = data()["response_patterns"]
    # The alternation finds candidates in one scan; the reader then keeps only what is stated ("not in
    # remission" is no statement of benefit, "no loss of response" none of failure).
    if no.search(text) and any(m.affirmed for m in te.rule_mentions(text, raw["no_benefit"], "statement")):
        return "no-benefit"
    if yes.search(text) and any(m.affirmed for m in te.rule_mentions(text, raw["benefit"], "statement")):
        return "benefit"
    return None


@text_memo(maxsize=8192)
def methotrexate_dose_limit(text: str | None) -> str:
    """The sentence of a methotrexate record that documents why the dose stayed below the target (a stated maximum
    tolerated dose, intolerance or toxicity at a higher dose, a renal or hepatic limit: `methotrexate_dose_limit`),
    or "" when none does. Only affirmed statements count ("not the maximum tolerated dose" states nothing)."""
    if not text:
        return ""
    for m in te.rule_mentions(text, data()["methotrexate_dose_limit"]["rules"], "statement"):
        if m.affirmed:
            return m.sentence
    return ""


def is_route_intolerance(text: str | None) -> bool:
    """An intolerance of the route (needles, injections), which the guideline does not count (table1.ra.2.d).

    It takes an intolerance out of the count, so only an explicit denial ("not a needle issue", "no needle
    phobia") keeps it in: a hedged mention ("possible needle phobia") still marks it as route-related."""
    names = data()["route_intolerance_names"]
    if not name_mentions(text, names):
        return False
    return any(m.status not in (te.NEGATED, te.FAMILY) for m in te.mentions(text, names))


def warm_up() -> None:
    """Build the statement rules and the reader's cue profiles now (at start), not in the first call."""
    _statement_rules()
    _chart_statement_rules()
    te.warm_up()
