"""Terminology: the code systems, value sets, names and wording the facts layer reads, as data.

The data is `valuesets.json` (and `plan_records.json`, read by `facts/coverage.py`) beside this file, loaded once.
The package answers "what is this code / name / phrase?"; it never decides coverage (the policy layer does) and it
does not weigh negation or qualification in free text (`facts/text_evidence.py` does, on top of it).

Public surface, one module per concern:

- `loader`: `data()`, the loaded terminology data, and `system(name)`, a code system's URL.
- `codes`: what a coded value is (anakinra and drug codes, NDC normalisation, LOINC observation kinds, ICD-10-CM
  and SNOMED CT indications, specialties, live vaccines, encounter classes, supply types).
- `names`: what a name in free text is, as whole words (`name_mentions`, drugs, anakinra, the preferred RA
  products, observations by name, live vaccines by name, the indications an ICD-10-CM code includes).
- `wording`: regular-expression wording compiled once (supply types, response patterns, stop reasons, dosing
  frequency).
- `warm_up()`: load the data and build every lazily built table and pattern of these modules.
"""

from __future__ import annotations

from . import codes, loader, names, wording

__all__ = ["codes", "loader", "names", "warm_up", "wording"]


def warm_up() -> None:
    """Load the data and build the lazily built tables and patterns now (at start), not in the first call."""
    loader.data()
    codes.warm_up()
    names.warm_up()
    wording.warm_up()
