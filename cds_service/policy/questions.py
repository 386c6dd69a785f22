"""The documentation questions of the guideline, as data keyed by clause id (Da Vinci DTR).

`data/kineret-09-J0000-45-questions.json` says, for each thing a clause can ask of the prescriber, the question
and what its answer becomes (`reads`): a prescriber statement under the key the clause reads, a medication
trial, an intolerance, details of a statement, or a record kept for the plan's review. The respond layer turns
it into a FHIR Questionnaire (`respond/questionnaire.py`); `documentation/answers.py` reads answers back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .data_loader import DATA_DIR, Policy, PolicyDataError, load_policy

QUESTIONS_FILE = "kineret-09-J0000-45-questions.json"
READS = ("statement", "trial", "intolerance", "date", "text", "record")


@dataclass(frozen=True)
class Questions:
    data: dict[str, Any]
    revision: str  # the guideline revision the questions belong to

    @property
    def version(self) -> str:
        """The Questionnaire's version: the guideline revision and the questions' own version within it."""
        return f"{self.revision}.{self.data['version']}"

    def items(self) -> Iterator[tuple[dict[str, Any] | None, dict[str, Any]]]:
        """Every question (context items, groups' items and their sub-items), depth first, with its group."""
        for item in self.data["context_items"]:
            yield None, item
        for group in self.data["groups"]:
            stack = list(reversed(group["items"]))
            while stack:
                item = stack.pop()
                yield group, item
                stack.extend(reversed(item.get("items", ())))

    def by_link_id(self) -> dict[str, dict[str, Any]]:
        return {item["linkId"]: item for _, item in self.items()}

    def statement_items(self) -> dict[str, list[dict[str, Any]]]:
        """Statement key -> the questions that must all be answered yes for it."""
        out: dict[str, list[dict[str, Any]]] = {}
        for _, item in self.items():
            if item.get("reads") == "statement":
                out.setdefault(item["statement"], []).append(item)
        return out

    def clauses_decided(self) -> set[str]:
        """The clauses an answer can decide (a question whose answer some clause reads: not `record` only)."""
        found: set[str] = set()
        for group, item in self.items():
            if group is not None and item.get("reads") not in (None, "record"):
                found.update(item.get("clauses", ()))
        return found

    def clauses(self) -> set[str]:
        """Every clause id some question answers."""
        found: set[str] = set()
        for group in self.data["groups"]:
            found.update(group["clauses"])
        return found


def validate(questions: Questions, policy: Policy) -> list[str]:
    """Problems with the questions data: unknown clause ids or value sets, duplicate linkIds, enableWhen on an
    unknown or later question, a `reads` that is not known."""
    problems: list[str] = []
    seen: set[str] = set()
    sets = questions.data["value_sets"]
    for _group, item in questions.items():
        link = item["linkId"]
        if link in seen:
            problems.append(f"duplicate linkId {link}")
        for cond in item.get("enable_when", ()):
            if cond["question"] not in seen:
                problems.append(f"{link}: enableWhen on {cond['question']}, not an earlier question")
        seen.add(link)
        for cid in item.get("clauses", ()):
            if policy.clauses and cid not in policy.clauses:
                problems.append(f"{link}: unknown clause id {cid}")
        if "reads" in item and item["reads"] not in READS:
            problems.append(f"{link}: unknown reads {item['reads']}")
        if item.get("answer_value_set") and item["answer_value_set"] not in sets:
            problems.append(f"{link}: unknown value set {item['answer_value_set']}")
    for group in questions.data["groups"]:
        for cid in group["clauses"]:
            if policy.clauses and cid not in policy.clauses:
                problems.append(f"{group['linkId']}: unknown clause id {cid}")
        for cond in group.get("enable_when", ()):
            if cond["question"] not in {i["linkId"] for i in questions.data["context_items"]}:
                problems.append(f"{group['linkId']}: enableWhen on {cond['question']}, not a context question")
    return problems


def load_questions_file(path: str | Path, policy: Policy) -> Questions:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("policy_id") != policy.id:
        raise PolicyDataError(f"questions for {data.get('policy_id')!r}, not guideline {policy.id!r}")
    questions = Questions(data, policy.revision)
    problems = validate(questions, policy)
    if problems:
        raise PolicyDataError("questions data: " + "; ".join(problems))
    return questions


@lru_cache(maxsize=1)
def _shipped() -> Questions:
    return load_questions_file(DATA_DIR / QUESTIONS_FILE, load_policy())


def load_questions(policy: Policy | None = None) -> Questions:
    """The questions of the guideline (read once for the shipped guideline; `policy`: another revision of it)."""
    if policy is None or policy is load_policy():
        return _shipped()
    return load_questions_file(DATA_DIR / QUESTIONS_FILE, policy)
