"""The facts memos: the memoised readers answer exactly what the readers answer, bounded in entries and in
the size of what one entry may hold, for any input."""

from __future__ import annotations

import pytest

from cds_service.facts import diagnoses, labs, medication
from cds_service.facts.memo import MAX_KEY_CHARS, ConceptMemo, text_memo

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CONCEPTS = [
    None,
    {},
    [],
    "text only",
    {"text": "Kineret 100 mg/0.67 mL syringe"},
    {"coding": [{"system": RXNORM, "code": "727711", "display": "anakinra 149 MG/ML Prefilled Syringe"}]},
    {"coding": [{"system": RXNORM, "code": "6851"}], "text": "methotrexate 2.5 mg"},
    {"text": "methotrexate 2.5 mg", "coding": [{"system": RXNORM, "code": "6851"}]},  # same, other key order
    {"coding": {"system": "http://loinc.org", "code": "29463-7"}},  # a Coding, not a list
    {"coding": [{"system": "http://loinc.org", "code": "2160-0", "display": "Creatinine"}]},
    {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M05.79"}], "text": "RA"},
    {"coding": [{"system": 7, "code": ["x"]}], "text": 3},  # ill-typed
]


@pytest.mark.parametrize("concept", CONCEPTS, ids=range(len(CONCEPTS)))
def test_memoised_readers_answer_what_the_readers_answer(concept):
    for _ in range(2):  # the first call fills the memo, the second reads it
        assert medication._info_from_concept(concept) == medication._read_medication_concept(concept)
        assert labs._code_kind_memo(concept) == labs._code_kind(concept)
        assert diagnoses._condition_concept(concept) == diagnoses._read_condition_concept(concept)


def test_the_memo_is_bounded_and_keys_on_the_whole_concept():
    calls = []
    memo = ConceptMemo(lambda c: calls.append(c) or len(calls), maxsize=3)
    assert memo({"text": "a"}) == 1 and memo({"text": "a"}) == 1  # a hit: not computed again
    assert memo({"text": "a", "coding": []}) == 2  # another concept: computed
    memo({"text": "b"})
    memo({"text": "c"})  # full: cleared, then stored
    assert len(memo._cache) <= 3
    assert memo({"text": "a"}) == 5  # computed again after the clear


def test_a_value_that_is_not_json_is_computed_not_cached():
    memo = ConceptMemo(lambda c: "computed")
    assert memo({"text": object()}) == "computed"
    assert memo._cache == {}


def test_outsized_keys_are_computed_never_stored():
    memo = ConceptMemo(lambda c: "read")
    assert memo({"text": "x" * (MAX_KEY_CHARS + 1)}) == "read"
    assert memo._cache == {}
    calls = []

    @text_memo(maxsize=16)
    def reader(text, codes=()):
        calls.append(text)
        return len(text)

    long_text = "y" * (MAX_KEY_CHARS + 1)
    assert reader(long_text) == reader(long_text) == MAX_KEY_CHARS + 1
    assert len(calls) == 2 and reader.cache_info().currsize == 0  # computed twice, stored never
    assert reader("short") == reader("short") == 5
    assert len(calls) == 3 and reader.cache_info().currsize == 1
    # Text inside a tuple of Codes counts too.
    big_codes = (("http://snomed.info/sct", "1", "z" * (MAX_KEY_CHARS + 1)),)
    reader("a", big_codes)
    assert reader.cache_info().currsize == 1
