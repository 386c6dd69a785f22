"""Code matching: what a coded value (RxNorm, NDC, SNOMED CT, CVX, LOINC, ICD-10-CM, NUCC, v3 codes) is.

Lookups in the terminology data (`loader.data()`), with the tables inverted once. They never decide coverage: that
is the policy layer's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ..memo import text_memo
from ..model import Code
from .loader import data, system


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
        if not ndc:
            return False
        return any(ndc.startswith(p) for p in a["ndc_product"])
    return False


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


@lru_cache(maxsize=1024)
def drug_classes(drug: str) -> frozenset[str]:
    entry = data()["drugs"].get(drug)
    return frozenset(entry["classes"]) if entry else frozenset()


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


def icd_key(code: str) -> str:
    """An ICD-10-CM code as the tables key it: upper case, without the dot."""
    return code.upper().replace(".", "").strip()


def _longest_prefix(table: dict[str, Any], code: str | None) -> frozenset[str]:
    """The entry of `table` (ICD-10-CM prefix -> indications) whose prefix is the longest match of `code`."""
    if not code:
        return frozenset()
    key = icd_key(code)
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
def qualified_indications_for_icd10(code: str | None) -> frozenset[str]:
    """Indications a qualified code supports only once the indication is documented (billing.icd10 'for X only')."""
    return _longest_prefix(data()["icd10_qualified_indications"], code)


def specialty_for(system_url: str | None, code: str | None, text: str | None = None) -> str | None:
    sp = data()["specialties"]
    hit: str | None
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
        names: dict[str, str] = sp["names"]
        for name, key in names.items():
            if name in low:
                return key
    return None


def is_live_vaccine_cvx(code: str | None) -> bool:
    if not code:
        return False
    return code.strip().zfill(2) in data()["live_vaccines_cvx"]


def is_icd10_code(c: Code) -> bool:
    """Is the Code an ICD-10-CM code (by its system)?"""
    return c.system == system("icd10cm") or (c.system or "").endswith("icd-10-cm")


def any_icd10_coded(codes: Iterable[Code]) -> bool:
    return any(c.code and is_icd10_code(c) for c in codes)


def kind_code_matches(entry: dict[str, Any], c: Code) -> bool:
    """Does the Code `c` fall under a kind's entry (`condition_kinds`, `procedure_kinds`): an ICD-10-CM code by prefix
    (`icd10`, less `icd10_exclude`), a SNOMED CT code by value (`snomed`)?"""
    if not c.code:
        return False
    if is_icd10_code(c):
        key = icd_key(c.code)
        return any(key.startswith(p) for p in entry.get("icd10", [])) and not any(
            key.startswith(p) for p in entry.get("icd10_exclude", [])
        )
    return c.system == system("snomed") and c.code.strip() in entry.get("snomed", [])


def encounter_class_kind(code: str | None) -> str | None:
    """'inpatient' (an admission), 'review' (emergency / observation) or None."""
    if not code:
        return None
    classes = data()["encounter_classes"]
    for kind in ("inpatient", "review"):
        if code.strip() in classes[kind]:
            return kind
    return None


def supply_type_for_code(system_url: str | None, code: str | None) -> str | None:
    """What a MedicationDispense.type code says the supply was, when it is not a paid pharmacy fill
    (a manufacturer sample, a trial fill): the label from `supply_types`, else None."""
    if not code:
        return None
    label: str | None = data()["supply_types"]["codes"].get((system_url or "").strip(), {}).get(code.strip())
    return label


def warm_up() -> None:
    """Build the inverted tables now (at start), not in the first call that needs them."""
    _rxnorm_to_drug()
    _cvx_to_drug()
    _loinc_to_kind()
