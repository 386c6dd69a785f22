"""Program exceptions (program.*), billing notes (billing.*) and the approval duration (*.duration)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from ...facts.model import CaseFacts, Diagnosis
from ..data_loader import Policy
from ..logic import all_of, leaf
from ..model import ClauseResult, Evidence, Outcome
from .common import diagnosis_evidence

PROGRAM_CLAUSES = ("program.fep", "program.sao", "program.medicare-advantage", "program.medicare-part-d")


def _coverage_evidence(case: CaseFacts) -> list[Evidence]:
    cov = case.patient.coverage
    return [Evidence(text, cov.source) for text in cov.evidence] or (
        [Evidence(f"coverage payor {cov.payor}", cov.source)] if cov.payor else []
    )


def _drug_and_medical(case: CaseFacts, policy: Policy) -> dict[str, Any] | None:
    """The reading for a Coverage recognised as two programs at once (a Medicare Advantage plan that states
    Part D drug coverage, MAPD), if it applies to this member."""
    cov = case.patient.coverage
    for key, spec in policy.data.get("program_combinations", {}).items():
        if key.startswith("_"):
            continue
        if all(p in cov.programs for p in spec["programs"]):
            return cast(dict[str, Any], spec)
    return None


def member_program(case: CaseFacts, policy: Policy) -> str | None:
    """The program whose process decides this order.

    Program exceptions: "Medicare Advantage Products: No National Coverage Determination (NCD) and/or
    Local Coverage Determination (LCD) were found ..." (this guideline applies) and "Medicare Part D:
    Florida Blue has delegated to Prime Therapeutics authority to make coverage determinations for the
    Medicare Part D services referenced in this guideline." A Medicare Advantage plan with Part D drug
    coverage (MAPD) is both: the order is a Part D service unless it is provider-administered (the
    medical benefit), and an order that does not say where it is given is read as self-administered
    (the drug is labeled for self-administration), so Prime Therapeutics decides: the reading that
    cannot answer `covered` where Prime Therapeutics decides (readings.medicare_advantage_part_d)."""
    cov = case.patient.coverage
    combined = _drug_and_medical(case, policy)
    if combined is not None:
        program: str = combined["medical"] if case.order.setting.provider_administered is True else combined["drug"]
        return program
    return cov.program


def program_readings(case: CaseFacts, policy: Policy) -> list[str]:
    """The readings of the program exceptions applied to this order."""
    combined = _drug_and_medical(case, policy)
    return [combined["reading"]] if combined is not None else []


def program_clauses(case: CaseFacts, policy: Policy) -> ClauseResult:
    """One leaf per program exception. The member's program: MET when this guideline applies (Medicare
    Advantage: no NCD/LCD), UNKNOWN when another process decides (FEP, SAO, Part D); the others NOT_APPLICABLE."""
    programs = policy.data["programs"]
    member = member_program(case, policy)
    spec = programs.get(member or "", {})
    ev = _coverage_evidence(case)
    combined = _drug_and_medical(case, policy)
    if combined is not None:
        ev.append(Evidence(policy.reading(combined["reading"]), case.patient.coverage.source))
    kids = []
    for cid in PROGRAM_CLAUSES:
        if spec.get("clause") != cid:
            label = spec.get("label", member or "no coverage")
            kids.append(leaf(cid, Outcome.NOT_APPLICABLE, f"The member's program is {label}."))
        elif spec.get("decides", True):
            kids.append(leaf(cid, Outcome.MET, spec.get("note", f"{spec['label']}: this guideline applies."), ev))
        else:
            kids.append(
                leaf(cid, Outcome.UNKNOWN, f"{spec['label']}: this guideline does not decide. {spec['process']}", ev)
            )
    return all_of("program", kids, "The program exception for the member's coverage, if any.")


def step_therapy_exemption(decision_tree: ClauseResult | None, policy: Policy) -> ClauseResult:
    """program.step-therapy-exemption: applies (MET) when a step-therapy requirement (table1.ra) is not shown."""
    cid = "program.step-therapy-exemption"
    ra = decision_tree.find("table1.ra") if decision_tree is not None else None
    if ra is None:
        return leaf(cid, Outcome.NOT_APPLICABLE, "No step therapy requirement for this indication.")
    if ra.outcome in (Outcome.MET, Outcome.NOT_APPLICABLE):
        return leaf(cid, Outcome.NOT_APPLICABLE, "Step therapy is met.")
    return leaf(cid, Outcome.MET, policy.data["step_therapy_exemption"])


def hcpcs(case: CaseFacts, policy: Policy) -> ClauseResult:
    """billing.hcpcs: J3590 for a medical (provider-administered) claim; a pharmacy claim bills by NDC."""
    cid = "billing.hcpcs"
    spec = policy.section("billing")["hcpcs"]
    if case.order.setting.provider_administered:
        return leaf(
            cid,
            Outcome.MET,
            f"A provider-administered claim bills HCPCS {spec['code']} ({spec['label']}).",
            [Evidence(f"HCPCS {spec['code']}", None, spec["code"])],
        )
    return leaf(
        cid,
        Outcome.NOT_APPLICABLE,
        spec["pharmacy_note"],
        [Evidence(f"HCPCS {spec['code']} ({spec['label']}) for medical claims only", None, spec["code"])],
    )


def _icd_key(code: str) -> str:
    return code.upper().replace(".", "").strip()


def icd10_entry(policy: Policy, code: str) -> dict[str, Any] | None:
    key = _icd_key(code)
    for entry in policy.section("billing")["icd10"]:
        if "code" in entry and _icd_key(entry["code"]) == key:
            return cast(dict[str, Any], entry)
        if "prefix" in entry and key.startswith(_icd_key(entry["prefix"])):
            return cast(dict[str, Any], entry)
    return None


def icd10(case: CaseFacts, policy: Policy, indication: str | None, diagnoses: Sequence[Diagnosis]) -> ClauseResult:
    """billing.icd10: the indication's ICD-10-CM code is one the guideline lists, with its qualifier.

    Informational: Table 1 decides coverage (NOMID coded M04.2 or MIS-C coded M35.81 are covered indications
    whose codes the list leaves out)."""
    cid = "billing.icd10"
    if indication is None:
        return leaf(cid, Outcome.UNKNOWN, "The indication is not established.")
    system = policy.section("billing")["icd10_system"]
    codes = [(d, c.code) for d in diagnoses for c in d.codes if c.code and (c.system or "") == system]
    if not codes:
        return leaf(
            cid, Outcome.UNKNOWN, "The diagnosis carries no ICD-10-CM code.", [diagnosis_evidence(d) for d in diagnoses]
        )
    supported: list[Evidence] = []
    other: list[Evidence] = []
    label = policy.indication(indication)["label"]
    for d, code in codes:
        entry = icd10_entry(policy, code)
        if entry is None:
            other.append(Evidence(f"{code} is not among the listed codes", d.source, code))
        elif entry.get("only_for") and indication not in entry["only_for"]:
            other.append(
                Evidence(f"{code} ({entry['label']}) is listed for {', '.join(entry['only_for'])} only", d.source, code)
            )
        else:
            supported.append(
                Evidence(
                    f"{code}: {entry['label']}"
                    + (f" (listed for {', '.join(entry['only_for'])} only)" if entry.get("only_for") else ""),
                    d.source,
                    code,
                )
            )
    if supported:
        return leaf(cid, Outcome.MET, f"The ICD-10-CM code supports medical necessity for {label}.", supported + other)
    return leaf(
        cid,
        Outcome.NOT_MET,
        f"No listed ICD-10-CM code for {label}; coverage is decided by Table 1, but a claim may need a listed code.",
        other,
    )


def duration(policy: Policy, indication: str | None, pathway: str) -> tuple[ClauseResult, int | None]:
    """initiation.duration / continuation.duration: 12 months; 1 month for COVID-19 and MIS-C (initiation)."""
    cid = {"initiation": "initiation.duration", "continuation": "continuation.duration"}[pathway]
    if indication is None:
        return leaf(cid, Outcome.UNKNOWN, "Depends on the indication, which is not established."), None
    short = policy.indication(indication).get("approval") == "short" and pathway == "initiation"
    months = policy.limit("approval_months_short" if short else "approval_months")
    why = f"{policy.indication(indication)['label']}" if short else pathway
    return leaf(
        cid,
        Outcome.MET,
        f"Approval for {months} month{'s' if months != 1 else ''} ({why}).",
        [Evidence(f"approval duration: {months} month{'s' if months != 1 else ''}", None, str(months))],
    ), months
