"""Free text as evidence: a small NegEx-style reader of negation and qualification.

The design rule (shared/design.md, "Evidence strength"): text counts only as an explicit, unnegated,
unqualified statement. "Pneumonia, no supplemental oxygen requirement" does not say that oxygen is
required; "? MAS", "r/o sepsis" and "consider office administration" are possibilities, not findings;
"history of pneumonia, resolved" is not a current pneumonia; "family history of HLH" is not the member's.

How a mention is read (the cue phrases are data: terminology `valuesets.json`, section `text_assertion`,
and the statement profile in `prescriber_statements.cues`):
- The text is cut into sentences (". " after a word that is not an abbreviation or a single letter, so
  "E. coli" and "Dr. Lee" stay whole; "?" or "!" after a word; ";", "|" and line breaks).
- A cue *before* a mention (pre cue: "no", "denies", "without", "negative for", "ruled out", "rather
  than", "instead of", "possible", "?", "r/o", "consider", "if needed", "history of", "family history
  of" ...) governs it when at most `window_words.pre` words lie between them and no terminator ("but",
  "however", "then", "now" ...) does; a cue *after* a mention (post cue: "ruled out", "unlikely",
  "resolved", "pending", "?" ...) governs it within `window_words.post` words.
- Pseudo cues ("no change", "gram negative", "may 2025" ...) are not cues; a cue that overlaps the
  mention itself (or another concept of the same rule) is part of what is said, not a qualifier of it.
- The mention's status is the first category of `priority` among the cues governing it (negated,
  family, uncertain, teaching, historical), or "affirmed" when none does.

Functions return every mention with its status and the sentence it came from, so that callers can both
decide (only "affirmed" is evidence) and say what the text says instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .memo import text_memo
from .terminology.loader import data

#: A rule in its hashable form (`rule_key`): a regex, or (all, none, inside, none_stated).
RuleKey = str | tuple[tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]
#: A rule as the terminology data writes it: a regex, or {"all": [...], "none": [...], "none_stated": [...],
#: "inside": bool}; or already a RuleKey.
Rule = str | Mapping[str, Any] | tuple[tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]
# (start, end, category, cue) of a cue found in a sentence.
_Cue = tuple[int, int, str, str]

AFFIRMED = "affirmed"
NEGATED = "negated"
UNCERTAIN = "uncertain"
HISTORICAL = "historical"
FAMILY = "family"
TEACHING = "teaching"


@dataclass(frozen=True)
class Mention:
    """One occurrence of a phrase (or of a rule's concepts) in a sentence, and how the sentence states it."""

    phrase: str  # the phrase (or rule concept) as found in the text (lower case)
    status: str  # affirmed | negated | uncertain | historical | family | teaching | ...
    sentence: str  # the sentence it was found in, as written
    cue: str | None = None  # the cue that qualified it (None when affirmed)

    @property
    def affirmed(self) -> bool:
        return self.status == AFFIRMED


class Cues:
    """Compiled cue lists of one profile (default text, prescriber statements, order setting)."""

    def __init__(self, config: dict[str, Any]):
        self.priority: tuple[str, ...] = tuple(config.get("priority", (NEGATED, FAMILY, UNCERTAIN, HISTORICAL)))
        windows = config.get("window_words", {})
        self.pre_window = int(windows.get("pre", 6))
        self.post_window = int(windows.get("post", 3))
        self.pre = {
            cat: _alternation(phrases)
            for cat, phrases in config.get("pre", {}).items()
            if not cat.startswith("_") and phrases
        }
        self.post = {
            cat: _alternation(phrases)
            for cat, phrases in config.get("post", {}).items()
            if not cat.startswith("_") and phrases
        }
        self.pseudo = re.compile("|".join(f"(?:{p})" for p in config.get("pseudo", ())) or r"(?!x)x", re.I)
        self.terminators = _alternation(config.get("terminators", ())) or re.compile(r"(?!x)x")


def _bounded(phrase: str) -> str:
    """A literal phrase as a regex matching whole words only (a cue or a name that begins or ends with a
    letter or digit must not be part of a longer word: "no" is not in "nose", "off" not in "offer")."""
    p = re.escape(phrase.lower())
    if phrase[:1].isalnum():
        p = r"(?<![a-z0-9])" + p
    if phrase[-1:].isalnum():
        p += r"(?![a-z0-9])"
    return p


def _alternation(phrases: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({p.lower() for p in phrases if p}, key=len, reverse=True)  # longest first
    if not ordered:
        return None
    return re.compile("|".join(_bounded(p) for p in ordered))


@lru_cache(maxsize=8)
def cues(profile: str = "default") -> Cues:
    """The cue profile `profile`: `default` is `text_assertion`; other profiles name a section of
    `text_assertion.profiles` whose lists replace the default ones (missing lists are inherited)."""
    base = data()["text_assertion"]
    if profile == "default":
        return Cues(base)
    over = base["profiles"][profile]
    merged = {k: v for k, v in base.items() if k != "profiles"}
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return Cues(merged)


# ------------------------------------------------------------------------------------------ sentences

_ENDS = re.compile(r"[.!?]+(?=[\s)\]]|$)|[;|\n\r]+")
_LAST_WORD = re.compile(r"([A-Za-z]+)\.?$")
_WORDS = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    return frozenset(a.lower() for a in data()["text_assertion"].get("abbreviations", ()))


@text_memo(maxsize=8192)
def sentences(text: str) -> tuple[str, ...]:
    """The sentences of `text` (stripped, non-empty). A full stop after a single letter ("E. coli") or a known
    abbreviation ("Dr.", "e.g.", "vs.") does not end a sentence; "?" ends one only after a word ("Pneumonia?"),
    so that "? pneumonia" keeps its cue."""
    out: list[str] = []
    start = 0
    abbreviations = _abbreviations()
    for m in _ENDS.finditer(text):
        mark = m.group(0)
        if mark[0] in ".!?":
            before = text[start : m.start()]
            if not before or not (before[-1].isalnum() or before[-1] in ")]%'\""):
                continue  # "? pneumonia", "...": not the end of a sentence
            if mark[0] == ".":
                w = _LAST_WORD.search(before)
                if w and (len(w.group(1)) == 1 or w.group(1).lower() in abbreviations):
                    continue
        piece = text[start : m.end()].strip(" \t;|\n\r")
        if piece:
            out.append(piece)
        start = m.end()
    piece = text[start:].strip(" \t;|\n\r")
    if piece:
        out.append(piece)
    return tuple(out)


# ------------------------------------------------------------------------------------------ scope


def _spans(pattern: re.Pattern[str] | None, low: str) -> list[tuple[int, int, str]]:
    if pattern is None:
        return []
    return [(m.start(), m.end(), m.group(0)) for m in pattern.finditer(low)]


def _overlaps(a: tuple[int, int], spans: Iterable[tuple[int, int] | tuple[int, int, str] | _Cue]) -> bool:
    return any(a[0] < e and s < a[1] for s, e, *_ in spans)


def _outermost(found: list[_Cue]) -> list[_Cue]:
    """Cues not inside a longer cue ("cannot" in "cannot rule out", "not" in "not yet"): the longer one says
    what is meant."""
    return [
        c
        for c in found
        if not any(o is not c and o[0] <= c[0] and c[1] <= o[1] and (o[1] - o[0]) > (c[1] - c[0]) for o in found)
    ]


class _Sentence:
    """One sentence's cues, found once, and the status of any span in it."""

    def __init__(self, text: str, c: Cues):
        self.text = text
        self.low = text.lower()
        self.c = c
        pseudo = _spans(c.pseudo, self.low)
        self.pre = _outermost(
            [
                (s, e, cat, cue)
                for cat, p in c.pre.items()
                for s, e, cue in _spans(p, self.low)
                if not _overlaps((s, e), pseudo)
            ]
        )
        self.post = _outermost(
            [
                (s, e, cat, cue)
                for cat, p in c.post.items()
                for s, e, cue in _spans(p, self.low)
                if not _overlaps((s, e), pseudo)
            ]
        )
        self.terminators = _spans(c.terminators, self.low)

    def _free(self, a: int, b: int) -> bool:
        """No terminator lies between a and b."""
        return not any(a <= s and e <= b for s, e, _ in self.terminators)

    def status(
        self,
        start: int,
        end: int,
        ignore: Iterable[tuple[int, int]] = (),
        inside: bool = False,
    ) -> tuple[str, str | None]:
        """(status, cue) of the span [start, end): cues overlapping `ignore` spans (the concepts of the same
        statement) or the span itself are not qualifiers, except, with `inside`, cues within a long span after
        its first word ("injection taught by the nurse in the office" is one concept, "taught" qualifies it)."""
        found: dict[str, str] = {}
        if inside:
            for s, e, cat, cue in (*self.pre, *self.post):
                if start < s and e <= end:
                    found.setdefault(cat, cue)
        for s, e, cat, cue in self.pre:
            if e > start or _overlaps((s, e), ignore) or _overlaps((s, e), ((start, end),)):
                continue
            if len(_WORDS.findall(self.low[e:start])) <= self.c.pre_window and self._free(e, start):
                found.setdefault(cat, cue)
        for s, e, cat, cue in self.post:
            if s < end or _overlaps((s, e), ignore):
                continue
            if len(_WORDS.findall(self.low[end:s])) <= self.c.post_window and self._free(end, s):
                found.setdefault(cat, cue)
        for cat in self.c.priority:
            if cat in found:
                return cat, found[cat]
        return AFFIRMED, None


@text_memo(maxsize=4096)
def _sentence(text: str, profile: str) -> _Sentence:
    return _Sentence(text, cues(profile))


def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    return _phrase_patterns(phrases)


@lru_cache(maxsize=512)
def _phrase_patterns(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    return _alternation(phrases)


# ------------------------------------------------------------------------------------------ API


@text_memo(maxsize=16384)
def _mentions(text: str, phrases: tuple[str, ...], profile: str) -> tuple[Mention, ...]:
    pattern = _phrase_pattern(phrases)
    if pattern is None:
        return ()
    out: list[Mention] = []
    for sentence in sentences(text):
        low = sentence.lower()
        if pattern.search(low) is None:
            continue
        sent = _sentence(sentence, profile)
        for m in pattern.finditer(low):
            status, cue = sent.status(m.start(), m.end())
            out.append(Mention(m.group(0), status, sentence, cue))
    return tuple(out)


def mentions(text: str | None, phrases: Iterable[str], profile: str = "default") -> tuple[Mention, ...]:
    """Every mention of one of `phrases` (literal, whole words, case-insensitive) in `text`, with its status."""
    if not text or not phrases:
        return ()
    return _mentions(text, tuple(phrases), profile)


def status(found: tuple[Mention, ...] | list[Mention], *, history_affirms: bool = False) -> str | None:
    """The text's overall statement about a concept from its mentions: affirmed when any mention is (an
    explicit statement anywhere is a statement); otherwise uncertain, then historical, then negated / family;
    None when the concept is not mentioned. With `history_affirms` (a criterion about a past event, such as
    a prior SARS-CoV-2 infection), a historical mention affirms."""
    if not found:
        return None
    states = {m.status for m in found}
    if AFFIRMED in states or (history_affirms and HISTORICAL in states):
        return AFFIRMED
    for s in (UNCERTAIN, TEACHING, HISTORICAL, NEGATED, FAMILY):
        if s in states:
            return s
    return next(iter(states))


def affirms(text: str | None, phrases: Iterable[str], profile: str = "default") -> bool:
    """Does `text` state one of `phrases` explicitly (at least one unnegated, unqualified mention)?"""
    return any(m.affirmed for m in mentions(text, phrases, profile))


# ------------------------------------------------------------------------------------------ rules


@lru_cache(maxsize=256)
def compile_rule(
    rule: RuleKey,
) -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...], bool, tuple[re.Pattern[str], ...]]:
    """A rule (data) is a regex string, or {"all": [regex, ...], "none": [regex, ...], "none_stated": [regex, ...],
    "inside": bool}: every `all` concept must occur in one sentence (in any order), and no `none` concept may; a
    `none_stated` concept blocks the rule only where the sentence states it (a negated mention, "filled at the
    pharmacy (not samples)", is what the statement asks for and does not block it); with `inside`, cues within a
    concept's match (after its start) qualify it too (for concepts that span several words with a gap)."""
    if isinstance(rule, str):
        return (re.compile(rule, re.I),), (), False, ()
    all_of, none_of, inside, none_stated = rule
    return (
        tuple(re.compile(p, re.I) for p in all_of),
        tuple(re.compile(p, re.I) for p in none_of),
        inside,
        tuple(re.compile(p, re.I) for p in none_stated),
    )


def rule_key(rule: Rule) -> RuleKey:
    """A hashable form of a rule from the JSON data."""
    if isinstance(rule, (str, tuple)):
        return rule
    return (
        tuple(rule.get("all", ())),
        tuple(rule.get("none", ())),
        bool(rule.get("inside")),
        tuple(rule.get("none_stated", ())),
    )


def rule_mentions(text: str | None, rules: Iterable[Rule], profile: str = "default") -> tuple[Mention, ...]:
    """For each sentence of `text` where some rule's concepts all occur: one Mention, affirmed when the sentence
    states every concept without negation or qualification (for some rule), else the status that blocked it."""
    if not text or not rules:
        return ()
    return _rule_mentions(text, tuple(rule_key(r) for r in rules), profile)


@text_memo(maxsize=8192)
def _rule_mentions(text: str, rules: tuple[RuleKey, ...], profile: str) -> tuple[Mention, ...]:
    out: list[Mention] = []
    compiled = [compile_rule(r) for r in rules]
    for sentence in sentences(text):
        low = sentence.lower()
        best: Mention | None = None
        for all_of, none_of, inside, none_stated in compiled:
            if any(p.search(low) for p in none_of):
                continue
            spent: list[tuple[int, int]] = []
            if none_stated:
                stated, spent = _excluded(sentence, low, none_stated, profile)
                if stated:
                    continue
            occurrences = [
                [(m.start(), m.end(), m.group(0)) for m in p.finditer(low) if m.end() > m.start()] for p in all_of
            ]
            if not all(occurrences):
                continue
            sent = _sentence(sentence, profile)
            spans = [(s, e) for occ in occurrences for s, e, _ in occ] + spent
            blocked: tuple[str, str | None] | None = None
            for occ in occurrences:
                states = [sent.status(s, e, ignore=[x for x in spans if x != (s, e)], inside=inside) for s, e, _ in occ]
                ok = [st for st in states if st[0] == AFFIRMED]
                if not ok:
                    blocked = blocked or states[0]
            phrase = " … ".join(occ[0][2] for occ in occurrences)
            if blocked is None:
                best = Mention(phrase, AFFIRMED, sentence)
                break
            if best is None:
                best = Mention(phrase, blocked[0], sentence, blocked[1])
        if best is not None:
            out.append(best)
    return tuple(out)


def _excluded(
    sentence: str, low: str, patterns: tuple[re.Pattern[str], ...], profile: str
) -> tuple[bool, list[tuple[int, int]]]:
    """(does the sentence state a match of one of `patterns`, the spans of the negations spent on them).

    Only negation withdraws an excluded concept: a hedged or historical mention ("possibly samples", "samples at
    first") still blocks. A negation cue that governs an excluded concept is spent on it ("filled at the pharmacy
    (not samples) within the past 90 days": the "not" is about the samples, not the 90 days), so the span from the
    cue to the concept is returned for the rule's other concepts to ignore."""
    sent = None
    spent: list[tuple[int, int]] = []
    for p in patterns:
        for m in p.finditer(low):
            if m.end() <= m.start():
                continue
            sent = sent or _sentence(sentence, profile)
            status, cue = sent.status(m.start(), m.end())
            if status != NEGATED:
                return True, []
            governing = [(s, e) for s, e, cat, c in sent.pre if cat == NEGATED and c == cue and e <= m.start()]
            if governing:  # the nearest such cue before the concept is the one that governs it
                spent.append((max(governing, key=lambda x: x[1])[0], m.end()))
    return False, spent


def warm_up() -> None:
    _abbreviations()
    for profile in ("default", *data()["text_assertion"].get("profiles", {})):
        cues(profile)
