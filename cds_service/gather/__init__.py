"""Gathering the patient's chart for one hook call: the request's prefetch first, then `fhirServer` (an
untrusted URL, read with the request's own token) for what is missing.

- `collect(request, settings, session=None, ...)` -> `PatientResources`: every data need, by prefetch or search
  (`collector`); `DataUnavailable` when a required one can be had from neither; `resolve_medication` reads one
  `Medication` an order refers to.
- `PatientResources`: the gathered FHIR resources by type and id, what could not be had, and why
  (`patient_resources`).
- `DataNeed`, `data_needs()`: one need per prefetch key, with its query template (`data_needs`).
- `classify(prefetch, key)`: what a prefetch value holds (`prefetch`).
"""

from .collector import DataUnavailable, collect, resolve_medication
from .data_needs import DataNeed, data_needs
from .patient_resources import PatientResources
from .prefetch import PrefetchState, PrefetchValue, classify

__all__ = [
    "DataNeed",
    "DataUnavailable",
    "PatientResources",
    "PrefetchState",
    "PrefetchValue",
    "classify",
    "collect",
    "data_needs",
    "resolve_medication",
]
