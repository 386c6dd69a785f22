"""How many cases the property-based tests (Hypothesis, Schemathesis) generate. `make test` runs the full
counts; `make test-fast` sets ANAKINRA_TEST_FAST=1 and runs the same tests on fewer cases (derandomized as
always), so that the unit tests stay under a minute."""

from __future__ import annotations

import os

FAST = os.environ.get("ANAKINRA_TEST_FAST") == "1"
FAST_SHARE = 10  # a tenth of the cases, at least MIN_FAST
MIN_FAST = 10


def examples(full: int) -> int:
    """The number of examples to generate: `full`, or a tenth of it (at least MIN_FAST) in the fast run."""
    return max(MIN_FAST, full // FAST_SHARE) if FAST else full
