"""The clause map of guideline 09-J0000-45 as the team wrote it (tests/policy/data/clauses.md, a copy of
shared/policy/clauses.md): the clause ids the tests check the policy data and the fixtures' expectations against,
independent of the service's own clause data."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

CLAUSE_MAP = Path(__file__).resolve().parent / "data" / "clauses.md"
_ID_ROW = re.compile(r"^\| `([a-z0-9.\-]+)` \|", re.M)


@cache
def documented_clause_ids() -> frozenset[str]:
    """Every clause id the map's tables define (the first column of each row)."""
    return frozenset(_ID_ROW.findall(CLAUSE_MAP.read_text(encoding="utf-8")))
