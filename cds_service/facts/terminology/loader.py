"""The terminology data (`valuesets.json` beside this file), loaded once.

Every other terminology module and the free-text reader (`facts/text_evidence.py`, whose cue lists are a section
of this data) read it through `data()`: this module imports nothing else of the project, so that both can depend on
it without depending on each other.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

_DATA_FILE = Path(__file__).with_name("valuesets.json")


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    """The whole terminology file (JSON), sections by name."""
    with _DATA_FILE.open(encoding="utf-8") as fh:
        return cast(dict[str, Any], json.load(fh))


def system(name: str) -> str:
    """The canonical URL of a code system by its short name ("rxnorm", "icd10cm", "loinc" ...)."""
    return cast(str, data()["systems"][name])
