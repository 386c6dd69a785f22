"""The member's plan program read from everything the Coverage says (issue 17, class 9): Coverage.type
codes in either SOPT system and v3 ActCode, every class's name and value, the payor's name.

Guideline, PROGRAM EXCEPTIONS: "Federal Employee Program (FEP): Follow FEP guidelines. State Account
Organization (SAO): Follow SAO guidelines. Medicare Advantage Products: No National Coverage Determination
(NCD) and/or Local Coverage Determination (LCD) were found ... Medicare Part D: Florida Blue has delegated to
Prime Therapeutics authority to make coverage determinations for the Medicare Part D services ..."."""

from __future__ import annotations

import pytest

from cds_service.facts.coverage import read_coverage

SOPT_OID = "urn:oid:2.16.840.1.113883.3.221.5"
SOPT_URL = "https://nahdo.org/sopt"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"


def coverage(
    type_code: tuple[str, str, str] | None = None,
    type_text: str | None = None,
    plan: tuple[str, str] | None = None,
    group: tuple[str, str] | None = None,
    payor: str = "Florida Blue",
    **extra,
) -> dict:
    cov = {
        "resourceType": "Coverage",
        "id": "cov-1",
        "status": "active",
        "payor": [{"display": payor}],
        "subscriberId": "SYN123",
    }
    if type_code or type_text:
        cov["type"] = {
            **(
                {"coding": [{"system": type_code[0], "code": type_code[1], "display": type_code[2]}]}
                if type_code
                else {}
            ),
            **({"text": type_text} if type_text else {}),
        }
    classes = []
    for kind, pair in (("group", group), ("plan", plan)):
        if pair:
            classes.append({"type": {"coding": [{"system": CLASS, "code": kind}]}, "value": pair[0], "name": pair[1]})
    if classes:
        cov["class"] = classes
    cov.update(extra)
    return cov


def program_of(cov: dict):
    facts = read_coverage([cov], lambda s: "h:" + s)
    return facts.program, facts.programs, facts.evidence


COMMERCIAL_PPO = (SOPT_OID, "512", "Commercial Managed Care - PPO")


@pytest.mark.parametrize(
    "cov",
    [
        # FEHB plans carried as commercial PPO by the EHR, named only by the plan or group
        coverage(COMMERCIAL_PPO, plan=("104", "Blue Cross and Blue Shield Service Benefit Plan - Standard Option")),
        coverage(COMMERCIAL_PPO, group=("FEHB-105", "Federal Employees Health Benefits")),
        coverage(COMMERCIAL_PPO, plan=("FEPBLUE-FOCUS", "FEP Blue Focus")),
        coverage(COMMERCIAL_PPO, plan=("FEP-BASIC", "Basic Option")),
    ],
)
def test_federal_employee_program_by_its_names(cov):
    program, _, evidence = program_of(cov)
    assert program == "fep", evidence
    assert any("Federal Employee Program" in e for e in evidence)


@pytest.mark.parametrize(
    "cov",
    [
        coverage(COMMERCIAL_PPO, plan=("SGI-PPO", "State of Florida Employees' PPO Plan")),
        coverage(COMMERCIAL_PPO, group=("SAO-0001", "State Group Insurance")),
    ],
)
def test_state_account_organization(cov):
    assert program_of(cov)[0] == "sao"


@pytest.mark.parametrize(
    "cov",
    [
        coverage((SOPT_URL, "122", "Medicare Drug Benefit")),  # the other SOPT system
        coverage(type_text="Medicare PDP", plan=("S5884-001", "Florida Blue Medicare Rx")),
        coverage(
            (ACT, "DRUGPOL", "drug policy"), plan=("S5884-107", "Stand-alone prescription drug plan"), payor="Medicare"
        ),
        coverage(type_text="Medicare", plan=("S5884-001", "Basic plan")),  # Medicare + a PDP contract number
    ],
)
def test_stand_alone_part_d_plan(cov):
    program, programs, evidence = program_of(cov)
    assert program == "medicare-part-d" and "medicare-advantage" not in programs, evidence


@pytest.mark.parametrize(
    "cov",
    [
        coverage((SOPT_URL, "111", "Medicare HMO")),
        coverage(type_text="Medicare HMO"),
        coverage((ACT, "HMO", "health maintenance organization policy"), payor="Medicare"),
        coverage(type_text="Medicare", plan=("H1035-021", "BlueMedicare Classic")),
        coverage((SOPT_OID, "112", "Medicare PPO"), plan=("H9999-001", "Florida Blue Medicare Advantage PPO")),
    ],
)
def test_medicare_advantage(cov):
    program, programs, evidence = program_of(cov)
    assert program == "medicare-advantage" and programs == ("medicare-advantage",), evidence


@pytest.mark.parametrize(
    "cov",
    [
        coverage((SOPT_OID, "111", "Medicare HMO"), plan=("H1035-021", "BlueMedicare HMO with Part D (MAPD)")),
        coverage(type_text="Medicare Advantage Prescription Drug plan"),
    ],
)
def test_medicare_advantage_with_part_d_is_both(cov):
    program, programs, _ = program_of(cov)
    assert program == "medicare-part-d" and set(programs) == {"medicare-part-d", "medicare-advantage"}


@pytest.mark.parametrize(
    "cov",
    [
        coverage((SOPT_OID, "121", "Medicare FFS")),
        coverage(type_text="Original Medicare"),
    ],
)
def test_other_medicare(cov):
    assert program_of(cov)[0] == "medicare-other"


@pytest.mark.parametrize(
    "cov",
    [
        coverage(COMMERCIAL_PPO, plan=("PLN-512", "Florida Blue PPO"), group=("GRP-1", "Synthetic Employer Group")),
        coverage(type_text="PPO", plan=("BlueOptions", "BlueOptions 05362")),
        coverage(),
    ],
)
def test_commercial(cov):
    assert program_of(cov)[0] == "commercial"
