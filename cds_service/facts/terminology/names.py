"""Name and ingredient matching: which drug, product, indication or observation a name in free text is.

Names match as whole words, case-insensitively (`name_mentions`). These readers do not weigh negation or
qualification ("no methotrexate"): readers that must, use `facts/text_evidence.py` on top of these lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ..memo import text_memo
from .codes import icd_key
from .loader import data

_NON_WORD = re.compile(r"[^a-z0-9.%'-]+")


@text_memo(maxsize=8192)
def _words(text: str) -> str:
    """Lower-cased text with every run of other characters as one space, padded with spaces."""
    return " " + _NON_WORD.sub(" ", text.lower()) + " "


def name_mentions(text: str | None, names: Iterable[str]) -> bool:
    """Does `text` mention one of `names` as whole words (case-insensitive)?"""
    if not text or not names:
        return False
    return _mentions(text, tuple(names))


@text_memo(maxsize=32768)
def _mentions(text: str, names: tuple[str, ...]) -> bool:
    hay = _words(text)
    return any((" " + n) in hay and _boundary(hay, n) for n in names)


def _boundary(hay: str, needle: str) -> bool:
    idx = hay.find(" " + needle)
    while idx >= 0:
        end = idx + 1 + len(needle)
        if end >= len(hay) or not hay[end].isalnum():
            return True
        idx = hay.find(" " + needle, idx + 1)
    return False


def is_anakinra_name(text: str | None) -> bool:
    return name_mentions(text, data()["anakinra"]["names"])


@lru_cache(maxsize=1)
def _drug_names() -> tuple[tuple[str, str], ...]:
    """(name, drug) pairs, longest name first: the most specific name wins."""
    pairs = [(n, key) for key, entry in data()["drugs"].items() for n in entry["names"]]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


@text_memo(maxsize=8192)
def drug_for_name(text: str | None) -> str | None:
    if not text:
        return None
    hay = _words(text)
    for name, key in _drug_names():
        if (" " + name) in hay and _boundary(hay, name):
            return key
    return None


def _preferred_products() -> dict[str, dict[str, Any]]:
    """How each preferred RA product is recognised (terminology `ra_preferred_products`; the list itself is the
    policy data's, table1.ra.preferred), by product key."""
    return {k: v for k, v in data()["ra_preferred_products"].items() if not k.startswith("_")}


def preferred_product_keys() -> frozenset[str]:
    """The products the terminology data can recognise: the same keys as the policy's list (checked there)."""
    return frozenset(_preferred_products())


@lru_cache(maxsize=1)
def preferred_product_drugs() -> frozenset[str]:
    """The ingredients of the preferred RA products: a record of another drug is no preferred product."""
    return frozenset(entry["drug"] for entry in _preferred_products().values())


@text_memo(maxsize=8192)
def ra_preferred_product(drug: str | None, text: str | None) -> str | None:
    """Which preferred RA product (table1.ra.preferred) a medication is, if any (memoised: a medication's
    text and ingredient, never notes): the product its text names, else the product that stands for its
    ingredient (`fallback_for_drug`) unless the text names another product of that ingredient (`exclude_names`)."""
    prefs = _preferred_products()
    hay = _words(text or "")
    for key, entry in prefs.items():
        if any(_boundary(hay, n) for n in entry.get("exclude_names", [])):
            continue
        if any(_boundary(hay, n) for n in entry["names"]):
            # "adalimumab-aaty" also contains the word adalimumab: names are specific enough.
            return key
    if drug:
        for key, entry in prefs.items():
            if (
                entry.get("drug") == drug
                and entry.get("fallback_for_drug")
                and not any(_boundary(hay, n) for n in entry.get("exclude_names", []))
            ):
                return key
    return None


_LIST_NONE = re.compile(r"\b(none|nil|no preferred|no (such )?products?|never tried|not tried any)\b", re.I)


def listed_preferred_products(sentence: str) -> frozenset[str] | None:
    """The preferred RA products (table1.ra.preferred keys) a prescriber's list names: the words after the list's
    colon (else the whole sentence); an empty set when it says none; None when it names no product and does not say
    none. An ingredient named alone counts as its `fallback_for_drug` product (an unbranded adalimumab as Humira)
    unless a product of that ingredient is named."""
    part = sentence.split(":", 1)[1] if ":" in sentence else sentence
    hay = _words(part)
    prefs = _preferred_products()
    found = {k for k, e in prefs.items() if any(_boundary(hay, n) for n in e["names"])}
    named_drugs = {prefs[k]["drug"] for k in found}
    found |= {
        k
        for k, e in prefs.items()
        if e.get("fallback_for_drug") and e["drug"] not in named_drugs and _boundary(hay, e["drug"])
    }
    if found:
        return frozenset(found)
    return frozenset() if _LIST_NONE.search(part) else None


@text_memo(maxsize=8192)
def observation_kind_by_name(text: str | None) -> str | None:
    observation_names: dict[str, list[str]] = data()["observation_names"]
    for kind, names in observation_names.items():
        if name_mentions(text, names):
            return kind
    return None


def included_indications_for_icd10(code: str | None, text: str | None) -> frozenset[str]:
    """Indications among the code's inclusion terms (M04.2 includes NOMID, M04.8 includes DIRA) that the text
    does not rule out by naming another of the code's syndromes (icd10_includes): the chart may be one of them."""
    if not code:
        return frozenset()
    key = icd_key(code)
    out = set()
    for prefix, entry in data()["icd10_includes"].items():
        if prefix.startswith("_") or not key.startswith(prefix):
            continue
        for indication, others in entry.items():
            if not name_mentions(text, others):
                out.add(indication)
    return frozenset(out)


def is_live_vaccine_name(text: str | None) -> bool:
    return name_mentions(text, data()["live_vaccine_names"])


def warm_up() -> None:
    """Build the name tables now (at start), not in the first call that needs them."""
    _drug_names()
    preferred_product_drugs()
