"""Load the guideline as versioned data (once per process).

A `Policy` is the guideline file (`data/kineret-09-J0000-45.json`: id, revision, effective dates,
limits, the indication table, value sets, programs, readings) plus the clause map (`data/clauses.json`:
every clause id with its text). Evaluators read limits and lists from it by name; nothing in the
evaluator code is a code or a limit. `Policy.with_limits` / `Policy.with_data` make a modified copy
(a new revision, or a test that a changed limit changes a decision).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from ..facts.terminology.names import preferred_product_keys

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_POLICY = "kineret-09-J0000-45.json"
CLAUSES_FILE = "clauses.json"

REQUIRED_KEYS = (
    "id",
    "title",
    "plan",
    "revision",
    "effective",
    "limits",
    "indications",
    "indication_priority",
    "ra_preferred_products",
    "ra_conventional_agents",
    "combination",
    "programs",
    "readings",
    "groups",
    "hard_exclusions",
    "billing",
)


class PolicyDataError(ValueError):
    """The guideline data file is incomplete or inconsistent."""


@dataclass(frozen=True)
class Policy:
    data: dict[str, Any]  # the guideline file as read (JSON)
    clauses: dict[str, str] = field(default_factory=dict)  # clause id -> text (from clauses.json)

    @property
    def id(self) -> str:
        return cast(str, self.data["id"])

    @property
    def revision(self) -> str:
        return cast(str, self.data["revision"])

    @property
    def title(self) -> str:
        return cast(str, self.data.get("title", ""))

    @property
    def plan(self) -> str:
        return cast(str, self.data["plan"])

    @property
    def effective(self) -> dict[str, str]:
        return cast(dict[str, str], self.data.get("effective", {}))

    @property
    def limits(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.data["limits"])

    def limit(self, name: str) -> Any:
        """A limit as the data states it (a number, a list of numbers or names)."""
        try:
            return self.data["limits"][name]
        except KeyError:
            raise PolicyDataError(f"policy {self.id}@{self.revision} has no limit '{name}'") from None

    def section(self, name: str) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], self.data[name])
        except KeyError:
            raise PolicyDataError(f"policy {self.id}@{self.revision} has no section '{name}'") from None

    def indication(self, key: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.data["indications"][key])

    @property
    def indications(self) -> dict[str, dict[str, Any]]:
        return cast(dict[str, dict[str, Any]], self.data["indications"])

    def reading(self, key: str) -> str:
        return cast(str, self.data["readings"][key])

    def clause_text(self, clause_id: str) -> str:
        return self.clauses.get(clause_id, "")

    def group_role(self, group_id: str) -> str | None:
        for g in self.data["groups"]:
            if g["id"] == group_id:
                return cast(str, g["role"])
        return None

    @property
    def texts(self) -> dict[str, str]:
        """Clause id or group id -> the guideline's words (built once per policy)."""
        cached: dict[str, str] | None = self.__dict__.get("_texts")
        if cached is None:
            cached = {g["id"]: g.get("text", "") for g in self.data["groups"]}
            cached.update({k: v for k, v in self.clauses.items() if v})
            object.__setattr__(self, "_texts", cached)
        return cached

    def group_text(self, group_id: str) -> str:
        for g in self.data["groups"]:
            if g["id"] == group_id:
                return cast(str, g.get("text", ""))
        return ""

    def with_limits(self, **changes: Any) -> Policy:
        """A copy with some limits changed (e.g. `with_limits(max_syringes_per_28_days=56)`)."""
        data = copy.deepcopy(self.data)
        unknown = set(changes) - set(data["limits"])
        if unknown:
            raise PolicyDataError(f"unknown limits: {', '.join(sorted(unknown))}")
        data["limits"].update(changes)
        return Policy(data, self.clauses)

    def with_data(self, **changes: Any) -> Policy:
        """A copy with top-level sections replaced (e.g. a new `revision`)."""
        data = copy.deepcopy(self.data)
        data.update(copy.deepcopy(changes))
        return Policy(data, self.clauses)


def validate(policy: Policy) -> list[str]:
    """Problems with the data: missing sections, indications without criteria, unknown clause ids."""
    problems = [f"missing section '{k}'" for k in REQUIRED_KEYS if k not in policy.data]
    if problems:
        return problems
    known_clauses = set(policy.clauses)
    for key, spec in policy.indications.items():
        for needed in ("label", "clause", "criteria", "specialties", "approval"):
            if needed not in spec:
                problems.append(f"indication '{key}' has no '{needed}'")
        if known_clauses and spec.get("clause") not in known_clauses:
            problems.append(f"indication '{key}' cites unknown clause '{spec.get('clause')}'")
    for key in policy.data["indication_priority"]:
        if key not in policy.indications:
            problems.append(f"indication_priority names unknown indication '{key}'")
    for cid in policy.data["hard_exclusions"]:
        if known_clauses and cid not in known_clauses:
            problems.append(f"hard exclusion '{cid}' is not a clause id")
    for cid in policy.data.get("ra_preferred_counts", {}):
        if not cid.startswith("_") and known_clauses and cid not in known_clauses:
            problems.append(f"ra_preferred_counts names '{cid}', which is not a clause id")
    # The preferred RA products are the policy data's list; the terminology data only says how each is recognised.
    listed, recognised = set(policy.data["ra_preferred_products"]), preferred_product_keys()
    problems += [
        f"preferred RA product '{k}' has no names in the terminology data" for k in sorted(listed - recognised)
    ]
    problems += [
        f"the terminology data recognises '{k}', which is not a preferred RA product"
        for k in sorted(recognised - listed)
    ]
    for key, prog in policy.data["programs"].items():
        if "clause" in prog and known_clauses and prog["clause"] not in known_clauses:
            problems.append(f"program '{key}' cites unknown clause '{prog['clause']}'")
        if prog.get("decides") is False and not prog.get("process"):
            problems.append(f"program '{key}' does not decide but names no process")
    return problems


def _read_clauses(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as fh:
        doc = json.load(fh)
    return {c["id"]: c["text"] for c in doc["clauses"]}


def load_policy_file(path: str | Path, clauses_path: str | Path | None = None) -> Policy:
    """A policy from any file (another revision); the clause map defaults to the packaged one."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    clauses = _read_clauses(Path(clauses_path) if clauses_path else DATA_DIR / CLAUSES_FILE)
    policy = Policy(data, clauses)
    problems = validate(policy)
    if problems:
        raise PolicyDataError(f"{path.name}: " + "; ".join(problems))
    return policy


@lru_cache(maxsize=4)
def load_policy(name: str = DEFAULT_POLICY) -> Policy:
    return load_policy_file(DATA_DIR / name)
