"""Load the guideline as versioned data (once per process)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_POLICY = "kineret-09-J0000-45.json"


@dataclass(frozen=True)
class Policy:
    data: dict

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def revision(self) -> str:
        return self.data["revision"]

    @property
    def plan(self) -> str:
        return self.data["plan"]

    @property
    def limits(self) -> dict:
        return self.data["limits"]

    def limit(self, name: str):
        return self.data["limits"][name]

    def indication(self, key: str) -> dict:
        return self.data["indications"][key]

    @property
    def indications(self) -> dict:
        return self.data["indications"]

    def reading(self, key: str) -> str:
        return self.data["readings"][key]


@lru_cache(maxsize=4)
def load_policy(name: str = DEFAULT_POLICY) -> Policy:
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return Policy(json.load(fh))
