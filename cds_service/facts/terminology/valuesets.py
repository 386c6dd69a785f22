"""Terminology lookups, loaded once from `valuesets.json` beside this file.

Functions here answer "what is this code / name?" for the facts layer. They never decide
coverage: that is the policy layer's job.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from ..memo import text_memo

_DATA_FILE = Path(__file__).with_name("valuesets.json")


@lru_cache(maxsize=1)
def data() -> dict:
    with _DATA_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)


def system(name: str) -> str:
    return data()["systems"][name]


def normalize_ndc(code: str) -> str | None:
    """Normalise an NDC to its 11-digit 5-4-2 form without hyphens.

    Accepts 11 digits with or without hyphens, and the 10-digit labelled forms 4-4-2, 5-3-2
    and 5-4-1 (hyphens required to know where the zero goes). A 10-digit string without
    hyphens is ambiguous and is returned as None unless it is also a known product prefix.
    """
    raw = code.strip()
    if "-" in raw:
        parts = raw.split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            return None
        a, b, c = parts
        if (len(a), len(b), len(c)) == (5, 4, 2):
            return a + b + c
        if (len(a), len(b), len(c)) == (4, 4, 2):
            return "0" + a + b + c
        if (len(a), len(b), len(c)) == (5, 3, 2):
            return a + "0" + b + c
        if (len(a), len(b), len(c)) == (5, 4, 1):
            return a + b + "0" + c
        return None
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11:
        return digits
    if len(digits) == 10:
        # Unhyphenated 10-digit NDC: try each padding, keep the ones we know.
        known = set(data()["anakinra"]["ndc11"])
        for candidate in (digits[:5] + "0" + digits[5:], "0" + digits, digits[:9] + "0" + digits[9:]):
            if candidate in known:
                return candidate
    return None


def is_anakinra_code(system_url: str | None, code: str | None) -> bool:
    if not code:
        return False
    a = data()["anakinra"]
    sysn = (system_url or "").strip()
    if sysn == system("rxnorm"):
        return code.strip() in a["rxnorm"]
    if sysn == system("ndc"):
        ndc = normalize_ndc(code)
        if ndc is None:
            return False
        return ndc in a["ndc11"] or any(ndc.startswith(p) for p in a["ndc_product"])
    if sysn == system("snomed"):
        return code.strip() in a["snomed_substance"]
    return False


def is_single_100mg_syringe_code(system_url: str | None, code: str | None) -> bool:
    a = data()["anakinra"]
    if system_url == system("rxnorm"):
        return (code or "").strip() in a["rxnorm_single_syringe_100mg"]
    if system_url == system("ndc") and code:
        ndc = normalize_ndc(code)
        return bool(ndc) and any(ndc.startswith(p) for p in a["ndc_product"])
    return False


_NON_WORD = re.compile(r"[^a-z0-9.%'-]+")


@text_memo(maxsize=8192)
def _words(text: str) -> str:
    """Lower-cased text with every run of other characters as one space, padded with spaces."""
    return " " + _NON_WORD.sub(" ", text.lower()) + " "


def name_mentions(text: str | None, names) -> bool:
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
def _rxnorm_to_drug() -> dict[str, str]:
    out: dict[str, str] = {}
    for key, entry in data()["drugs"].items():
        for code in entry.get("rxnorm", []):
            out[code] = key
    return out


@lru_cache(maxsize=1)
def _cvx_to_drug() -> dict[str, str]:
    out: dict[str, str] = {}
    for key, entry in data()["drugs"].items():
        for code in entry.get("cvx", []):
            out[code] = key
    return out


def drug_for_code(system_url: str | None, code: str | None) -> str | None:
    if not code:
        return None
    if system_url == system("rxnorm"):
        return _rxnorm_to_drug().get(code.strip())
    if system_url == system("cvx"):
        return _cvx_to_drug().get(code.strip())
    return None


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


@lru_cache(maxsize=1024)
def drug_classes(drug: str) -> frozenset[str]:
    entry = data()["drugs"].get(drug)
    return frozenset(entry["classes"]) if entry else frozenset()


@text_memo(maxsize=8192)
def ra_preferred_product(drug: str | None, text: str | None) -> str | None:
    """Which preferred RA product (table1.ra.preferred) a medication is, if any (memoised: a medication's
    text and ingredient, never notes)."""
    prefs = data()["ra_preferred_products"]
    hay = _words(text or "")
    for key, entry in prefs.items():
        if key.startswith("_"):
            continue
        if any(_boundary(hay, n) for n in entry.get("exclude_names", [])):
            continue
        if any(_boundary(hay, n) for n in entry["names"]):
            # "adalimumab-aaty" also contains the word adalimumab: names are specific enough.
            return key
    if drug:
        for key, entry in prefs.items():
            if key.startswith("_"):
                continue
            if entry.get("drug") == drug and entry.get("fallback_for_drug"):
                return key
        for key, entry in prefs.items():
            if key.startswith("_"):
                continue
            if entry.get("drug") == drug and drug in ("etanercept", "upadacitinib", "tofacitinib"):
                if not any(_boundary(hay, n) for n in entry.get("exclude_names", [])):
                    return key
    return None


def observation_kind(system_url: str | None, code: str | None) -> str | None:
    if system_url != system("loinc") or not code:
        return None
    return _loinc_to_kind().get(code.strip())


@lru_cache(maxsize=1)
def _loinc_to_kind() -> dict[str, str]:
    out = {}
    for kind, codes in data()["observations"].items():
        for c in codes:
            out[c] = kind
    return out


def observation_loincs() -> list[str]:
    seen: list[str] = []
    for codes in data()["observations"].values():
        for c in codes:
            if c not in seen:
                seen.append(c)
    return seen


@text_memo(maxsize=8192)
def observation_kind_by_name(text: str | None) -> str | None:
    for kind, names in data()["observation_names"].items():
        if name_mentions(text, names):
            return kind
    return None


def _icd_key(code: str) -> str:
    return code.upper().replace(".", "").strip()


def _longest_prefix(table: dict, code: str | None) -> frozenset[str]:
    """The entry of `table` (ICD-10-CM prefix -> indications) whose prefix is the longest match of `code`."""
    if not code:
        return frozenset()
    key = _icd_key(code)
    best = None
    for prefix in table:
        if prefix.startswith("_"):
            continue
        if key.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return frozenset(table[best]) if best else frozenset()


@text_memo(maxsize=8192)
def indications_for_icd10(code: str | None) -> frozenset[str]:
    return _longest_prefix(data()["icd10_indications"], code)


def indications_for_snomed(code: str | None) -> frozenset[str]:
    if not code:
        return frozenset()
    return frozenset(data()["snomed_indications"].get(code.strip(), []))


@text_memo(maxsize=8192)
def indications_for_text(text: str | None) -> frozenset[str]:
    """Indications the text names, unnegated ("NOMID ruled out", "possible DIRA" and "family history of CAPS"
    name none)."""
    if not text:
        return frozenset()
    found = set()
    te = _text()
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


def specialty_for(system_url: str | None, code: str | None, text: str | None = None) -> str | None:
    sp = data()["specialties"]
    if code and system_url == system("nucc"):
        hit = sp["nucc"].get(code.strip())
        if hit:
            return hit
    if code and system_url == system("snomed"):
        hit = sp["snomed"].get(code.strip())
        if hit:
            return hit
    if text:
        low = text.lower()
        for name, key in sp["names"].items():
            if name in low:
                return key
    return None


def is_live_vaccine_cvx(code: str | None) -> bool:
    return bool(code) and code.strip().zfill(2) in data()["live_vaccines_cvx"]


def included_indications_for_icd10(code: str | None, text: str | None) -> frozenset[str]:
    """Indications among the code's inclusion terms (M04.2 includes NOMID, M04.8 includes DIRA) that the text
    does not rule out by naming another of the code's syndromes (icd10_includes): the chart may be one of them."""
    if not code:
        return frozenset()
    key = _icd_key(code)
    out = set()
    for prefix, entry in data()["icd10_includes"].items():
        if prefix.startswith("_") or not key.startswith(prefix):
            continue
        for indication, others in entry.items():
            if not name_mentions(text, others):
                out.add(indication)
    return frozenset(out)


@text_memo(maxsize=8192)
def qualified_indications_for_icd10(code: str | None) -> frozenset[str]:
    """Indications a qualified code supports only once the indication is documented (billing.icd10 'for X only')."""
    return _longest_prefix(data()["icd10_qualified_indications"], code)


def _icd10_coded(codes) -> bool:
    return any(c.code and (c.system == system("icd10cm") or (c.system or "").endswith("icd-10-cm")) for c in codes)


def _text():
    """The negation/qualification reader (facts/text_evidence.py imports this module, so it is imported late)."""
    from .. import text_evidence
    return text_evidence


def _name_status(entry: dict, text: str | None) -> str | None:
    """How the text states the kind's names: affirmed, negated, uncertain, historical, family (None: not named).
    An entry's `history_counts` (a criterion about a past event: a prior SARS-CoV-2 infection) makes a historical
    mention affirm; its `contradicted_by` phrases, stated in the same text, leave an affirmed mention uncertain
    ("required oxygen, now on room air")."""
    names = entry.get("names")
    if not text or not names:
        return None
    te = _text()
    state = te.status(te.mentions(text, names), history_affirms=bool(entry.get("history_counts")))
    if state == te.AFFIRMED and entry.get("contradicted_by") and te.affirms(text, entry["contradicted_by"]):
        return te.UNCERTAIN
    return state


def _kind_state(entry: dict, codes, text: str | None, *, names_with_icd10: bool = False) -> str | None:
    """"affirmed" when a code says so, else how the text states the kind (None: not named at all).

    ICD-10-CM is a complete classification: when the concept carries an ICD-10-CM code, its code decides
    (so "Post COVID-19 condition", U09.9, is not read as an active COVID-19 infection). Our SNOMED lists are
    partial, so SNOMED-only, locally coded and text-only concepts are also matched by name: coded data first,
    then text, and text only as an explicit, unnegated, unqualified statement (facts/text_evidence.py)."""
    if any(_code_matches(entry, c) for c in codes):
        return "affirmed"
    if not (names_with_icd10 or entry.get("names_with_icd10")) and _icd10_coded(codes):
        return None
    state = _name_status(entry, text)
    # A name counts unless the text also says it is only an exposure, a suspicion ... (names_exclude).
    if state == "affirmed" and name_mentions(text, entry.get("names_exclude", [])):
        return "uncertain"
    return state


def _kind_matches(entry: dict, codes, text: str | None, *, names_with_icd10: bool = False) -> bool:
    return _kind_state(entry, codes, text, names_with_icd10=names_with_icd10) == "affirmed"


def _code_matches(entry: dict, c) -> bool:
    if not c.code:
        return False
    if c.system == system("icd10cm") or (c.system or "").endswith("icd-10-cm"):
        key = _icd_key(c.code)
        return any(key.startswith(p) for p in entry.get("icd10", [])) and not any(
            key.startswith(p) for p in entry.get("icd10_exclude", []))
    return c.system == system("snomed") and c.code.strip() in entry.get("snomed", [])


def condition_kinds(codes, text: str | None) -> frozenset[str]:
    """Clinical kinds (infection, pneumonia, sars_cov_2_prior, mas, oxygen ...) a condition's codes or its text
    affirm."""
    return frozenset(k for k, state in _condition_kinds(tuple(codes), text) if state == "affirmed")


def condition_kinds_hedged(codes, text: str | None) -> tuple[tuple[str, str], ...]:
    """(kind, status) for the kinds a condition's text names without affirming them: negated ("no supplemental
    oxygen requirement"), uncertain ("? MAS", "r/o sepsis"), historical ("history of pneumonia, resolved"),
    family ("family history of HLH")."""
    return tuple((k, state) for k, state in _condition_kinds(tuple(codes), text) if state != "affirmed")


@text_memo(maxsize=8192)
def _condition_kinds(codes: tuple, text: str | None) -> tuple[tuple[str, str], ...]:
    out = []
    for kind, entry in data()["condition_kinds"].items():
        if kind.startswith("_"):
            continue
        state = _kind_state(entry, codes, text)
        if state is not None:
            out.append((kind, state))
    return tuple(out)


def procedure_kinds(codes, text: str | None) -> frozenset[str]:
    out = set()
    for kind, entry in data()["procedure_kinds"].items():
        if kind.startswith("_"):
            continue
        if _kind_matches(entry, codes, text, names_with_icd10=True):
            out.add(kind)
    return frozenset(out)


def encounter_class_kind(code: str | None) -> str | None:
    """'inpatient' (an admission), 'review' (emergency / observation) or None."""
    if not code:
        return None
    classes = data()["encounter_classes"]
    for kind in ("inpatient", "review"):
        if code.strip() in classes[kind]:
            return kind
    return None


@lru_cache(maxsize=1)
def _statement_rules() -> tuple[tuple[str, tuple], ...]:
    raw = data()["prescriber_statements"]
    te = _text()
    return tuple((k, tuple(te.rule_key(r) for r in v)) for k, v in raw.items() if not k.startswith("_"))


def prescriber_statements(text: str | None) -> list[tuple[str, str]]:
    """(key, sentence) for every statement the text makes, recognised by meaning (the rules of
    `prescriber_statements`): a sentence states a key when one of its rules' concepts are all there, none
    negated or hedged ("I cannot confirm ...", "not at risk", "consult pending" state nothing)."""
    return [(k, m.sentence) for k, m in prescriber_statement_mentions(text) if m.affirmed]


def prescriber_statement_mentions(text: str | None) -> list[tuple[str, object]]:
    """(key, Mention) for every sentence that speaks to a statement key, stated or not (negated, hedged): the
    ones not affirmed say why a statement in the notes was not taken as one."""
    return _statement_mentions(text, _statement_rules())


def _statement_mentions(text: str | None, keyed_rules) -> list[tuple[str, object]]:
    """(key, Mention) of every sentence that speaks to one of the keys, read with the 'statement' profile; a
    qualifying heading ("Not confirmed: ...") governs the whole sentence (`header_status`)."""
    if not text:
        return []
    te = _text()
    out = []
    for key, rules in keyed_rules:
        for m in te.rule_mentions(text, rules, "statement"):
            if m.affirmed and (head := header_status(m.sentence)) is not None:
                m = te.Mention(m.phrase, head[0], m.sentence, head[1])
            out.append((key, m))
    return out


@lru_cache(maxsize=1)
def _chart_statement_rules() -> tuple[tuple[str, tuple], ...]:
    raw = data().get("chart_statements", {})
    te = _text()
    return tuple((k, tuple(te.rule_key(r) for r in v)) for k, v in raw.items() if not k.startswith("_"))


_HEADER = re.compile(r"^\s*([^:.;]{1,40}):")


def header_status(sentence: str, profile: str = "statement") -> tuple[str, str] | None:
    """(status, cue) of a short heading that qualifies a whole sentence ("Not confirmed: ...", "Ruled out: ...",
    "Possible: ..."): a cue in a heading of at most five words before a colon governs everything after it, however
    far (the reader's word window would not reach). None when there is no such heading, or it holds no cue."""
    m = _HEADER.match(sentence)
    if m is None or len(m.group(1).split()) > 5:
        return None
    te = _text()
    head = m.group(1).lower()
    c = te.cues(profile)
    for cat in c.priority:
        pattern = c.pre.get(cat)
        found = pattern.search(head) if pattern is not None else None
        if found is not None:
            return cat, found.group(0)
    return None


def chart_statement_mentions(text: str | None) -> list[tuple[str, object]]:
    """(key, Mention) for every sentence of a chart note that speaks to a `chart_statements` key, stated (affirmed)
    or not (negated, hedged), read like the prescriber's statements (profile 'statement'); a qualifying heading
    ("Not confirmed: ...") governs the whole sentence (`header_status`)."""
    return _statement_mentions(text, _chart_statement_rules())


def any_of_patterns(patterns: list[str]) -> re.Pattern:
    """One case-insensitive pattern that matches somewhere in a text exactly when one of `patterns`
    does (an alternation of non-capturing groups): one scan instead of one per pattern."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


@lru_cache(maxsize=1)
def _response_patterns() -> tuple[re.Pattern, re.Pattern]:
    raw = data()["response_patterns"]
    return any_of_patterns(raw["no_benefit"]), any_of_patterns(raw["benefit"])


def response_of(text: str | None) -> str | None:
    """'no-benefit', 'benefit' or None for a medication record's notes."""
    if not text:
        return None
    return _response_of_text(text)


@text_memo(maxsize=8192)
def _response_of_text(text: str) -> str | None:
    no, yes = _response_patterns()
    raw = data()["response_patterns"]
    te = _text()
    # The alternation finds candidates in one scan; the reader then keeps only what is stated ("not in
    # remission" is no statement of benefit, "no loss of response" none of failure).
    if no.search(text) and any(m.affirmed for m in te.rule_mentions(text, raw["no_benefit"], "statement")):
        return "no-benefit"
    if yes.search(text) and any(m.affirmed for m in te.rule_mentions(text, raw["benefit"], "statement")):
        return "benefit"
    return None


_LIST_NONE = re.compile(r"\b(none|nil|no preferred|no (such )?products?|never tried|not tried any)\b", re.I)


def listed_preferred_products(sentence: str) -> frozenset[str] | None:
    """The preferred RA products (table1.ra.preferred keys) a prescriber's list names: the words after the list's
    colon (else the whole sentence); an empty set when it says none; None when it names no product and does not say
    none. An unbranded adalimumab counts as Humira (its `fallback_for_drug`) unless a biosimilar is named."""
    part = sentence.split(":", 1)[1] if ":" in sentence else sentence
    hay = _words(part)
    prefs = {k: v for k, v in data()["ra_preferred_products"].items() if not k.startswith("_")}
    found = {k for k, e in prefs.items() if any(_boundary(hay, n) for n in e["names"])}
    if not any(prefs[k]["drug"] == "adalimumab" for k in found) and _boundary(hay, "adalimumab"):
        found |= {k for k, e in prefs.items() if e.get("fallback_for_drug")}
    if found:
        return frozenset(found)
    return frozenset() if _LIST_NONE.search(part) else None


@text_memo(maxsize=8192)
def methotrexate_dose_limit(text: str | None) -> str:
    """The sentence of a methotrexate record that documents why the dose stayed below the target (a stated maximum
    tolerated dose, intolerance or toxicity at a higher dose, a renal or hepatic limit: `methotrexate_dose_limit`),
    or "" when none does. Only affirmed statements count ("not the maximum tolerated dose" states nothing)."""
    if not text:
        return ""
    for m in _text().rule_mentions(text, data()["methotrexate_dose_limit"]["rules"], "statement"):
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
    te = _text()
    return any(m.status not in (te.NEGATED, te.FAMILY) for m in te.mentions(text, names))


def supply_type_for_code(system_url: str | None, code: str | None) -> str | None:
    """What a MedicationDispense.type code says the supply was, when it is not a paid pharmacy fill
    (a manufacturer sample, a trial fill): the label from `supply_types`, else None."""
    if not code:
        return None
    return data()["supply_types"]["codes"].get((system_url or "").strip(), {}).get(code.strip())


@lru_cache(maxsize=1)
def _supply_patterns() -> tuple[re.Pattern, list[re.Pattern]]:
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
        before = text[max(0, m.start() - 40):m.start()]
        if not any(n.search(before) for n in negations):
            return m.group(0).lower()
    return None


def is_live_vaccine_name(text: str | None) -> bool:
    return name_mentions(text, data()["live_vaccine_names"])


def warm_up() -> None:
    """Load the data and build every lazily built table and pattern now (at start), not in the
    first call that needs it."""
    data()
    _rxnorm_to_drug()
    _cvx_to_drug()
    _drug_names()
    _loinc_to_kind()
    _statement_rules()
    _chart_statement_rules()
    _text().warm_up()
    _response_patterns()
    _supply_patterns()
