"""The guideline as versioned data: validation, changing a limit changes a decision, every clause id is
evaluated, and the evaluator code holds no codes or limits."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from cds_service.facts.model import ImmunizationFact
from cds_service.policy.data_loader import DATA_DIR, PolicyDataError, load_policy_file, validate
from cds_service.policy.model import Outcome
from tests.policy.builders import (
    CLINIC,
    POLICY,
    ago,
    allergy,
    anakinra_dispense,
    case,
    covid_case,
    decide,
    dose,
    dx,
    lab,
    misc_case,
    node,
    nomid_case,
    order,
    prior_auth,
    span,
    still_case,
)
from tests.policy.clause_map import documented_clause_ids

POLICY_DIR = Path(__file__).resolve().parents[2] / "cds_service" / "policy"


def test_packaged_policy_is_valid():
    assert validate(POLICY) == []
    assert POLICY.id == "09-J0000-45" and POLICY.revision == "2026-01-01"
    assert POLICY.effective["start"] == "2026-01-01"


def test_the_preferred_ra_products_are_the_policy_datas_list_and_the_terminology_recognises_each():
    listed = {k: v for k, v in POLICY.data["ra_preferred_products"].items() if k != "xeljanz"}
    problems = validate(POLICY.with_data(ra_preferred_products={**listed, "cimzia": "Cimzia (certolizumab pegol)"}))
    assert "preferred RA product 'cimzia' has no names in the terminology data" in problems
    assert "the terminology data recognises 'xeljanz', which is not a preferred RA product" in problems


def test_changing_the_quantity_limit_changes_the_decision():
    c = case(order_facts=order(dose_facts=dose(mg=100, syringes=56)))
    assert decide(c).determination.value == "conditional"
    relaxed = POLICY.with_limits(max_syringes_per_28_days=56)
    d = decide(c, relaxed)
    assert node(d, "initiation.5.a").outcome is Outcome.MET
    assert "56 syringes" in node(d, "initiation.5.a").note
    # the card text follows the data too (for a compendia indication: RA at 100 mg/day is within its FDA-labeled
    # maximum, 5.b, so a tighter quantity limit alone asks no change of dose for RA)
    tight = POLICY.with_limits(max_syringes_per_28_days=14)
    still = case(diagnoses=(dx(("still",), "M06.1"),))
    card = next(f for f in decide(still, tight).findings if f.kind == "dose")
    assert "14 syringes" in card.detail


@pytest.mark.parametrize(
    "limits, maker, clause, before, after",
    [
        (
            {"covid_max_days": 14},
            lambda: covid_case(dose_facts=dose(duration=14)),
            "table1.covid-19.6",
            "not-met",
            "met",
        ),
        (
            {"recent_anakinra_days": 10},
            lambda: case(medications=(anakinra_dispense(50),)),
            "initiation.1.a",
            "met",
            "not-met",
        ),
        ({"min_trial_months": 8}, case, "table1.ra.2.a", "met", "not-met"),
        ({"nomid_dira_max_mg_per_kg_day": 4}, nomid_case, "dosage.nomid-dira", "met", "not-met"),
        ({"renal_crcl_threshold_ml_min": 100}, case, "dosage.renal", "met", "not-met"),
        ({"neutrophil_baseline_days": 7}, case, "precautions.neutrophils", "met", "not-met"),
    ],
)
def test_each_limit_is_read_from_the_data(limits, maker, clause, before, after):
    policy = POLICY.with_limits(**limits)
    assert node(decide(maker()), clause).outcome.value == before
    assert node(decide(maker(), policy), clause).outcome.value == after


def test_indication_age_and_approval_come_from_the_indication_table():
    data = json.loads(json.dumps(POLICY.data))
    data["indications"]["ra"]["min_age_years"] = 65
    data["limits"]["approval_months"] = 6
    policy = POLICY.with_data(indications=data["indications"], limits=data["limits"])
    d = decide(case(), policy)
    assert node(d, "initiation.1.c.ii.I").outcome is Outcome.NOT_MET
    assert decide(nomid_case(), policy).approval_months == 6
    assert decide(covid_case(), POLICY.with_limits(approval_months_short=2)).approval_months == 2


def test_a_new_revision_is_named_by_its_decisions(tmp_path):
    data = json.loads((DATA_DIR / "kineret-09-J0000-45.json").read_text())
    data["revision"] = "2026-07-01"
    data["limits"]["max_syringes_per_28_days"] = 56
    path = tmp_path / "kineret-next.json"
    path.write_text(json.dumps(data))
    policy = load_policy_file(path)
    d = decide(case(order_facts=order(dose_facts=dose(mg=100, syringes=56))), policy)
    assert d.policy_revision == "2026-07-01" and d.determination.value == "covered"


def test_an_incomplete_policy_file_is_refused(tmp_path):
    data = json.loads((DATA_DIR / "kineret-09-J0000-45.json").read_text())
    del data["indications"]["ra"]["criteria"]
    data["hard_exclusions"].append("initiation.99")
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PolicyDataError) as err:
        load_policy_file(path)
    assert "criteria" in str(err.value) and "initiation.99" in str(err.value)


def test_unknown_limit_is_refused():
    with pytest.raises(PolicyDataError):
        POLICY.with_limits(no_such_limit=1)


# ------------------------------------------------------------------ every clause id is evaluated


def _variety():
    """Cases that, together, reach every clause of the guideline."""
    return [
        case(),
        case(medications=()),
        case(order_facts=order(setting=CLINIC)),
        case(order_facts=order(dose_facts=dose(mg=200, syringes=56))),
        case(age=16),
        case(prior_authorizations=(prior_auth(),), medications=(anakinra_dispense(20, response="benefit"),)),
        case(
            prior_authorizations=(prior_auth(),),
            medications=(anakinra_dispense(20),),
            order_facts=order(dose_facts=dose(mg=200, syringes=56)),
        ),
        case(program="fep"),
        case(program="sao"),
        case(program="medicare-part-d"),
        case(program="medicare-advantage"),
        case(labs=(lab("creatinine", 2.1, "mg/dL"),), age=70, weight_kg=58.0),
        case(immunizations=(ImmunizationFact("Immunization/mmr", "MMR", True, None, "ordered"),)),
        nomid_case(medications=(span("anakinra", classes=("anakinra",), start=ago(months=8), active=True),)),
        nomid_case(diagnoses=(dx(("dira",), "M04.8"),)),
        misc_case(),
        covid_case(),
        still_case(),
        case(diagnoses=(dx(("castleman",), "D47.Z2"),), medications=(), specialties=("hematology",)),
        case(
            diagnoses=(dx(), dx((), "A41.9", kinds=("infection",))),
        ),
        case(allergies=(allergy("anakinra"),)),
    ]


def _ids(node_):
    yield node_.clause_id
    for c in node_.children:
        yield from _ids(c)


def test_every_clause_id_is_evaluated_and_every_emitted_id_is_known():
    known = set(POLICY.clauses)
    groups = {g["id"] for g in POLICY.data["groups"]}
    seen: dict[str, set[str]] = {}
    for c in _variety():
        d = decide(c)
        for top in d.tree:
            for n in top.walk():
                seen.setdefault(n.clause_id, set()).add(n.outcome.value)
    assert set(seen) - known - groups == set(), "ids emitted that the clause map does not know"
    assert known - set(seen) == set(), "clause ids never evaluated"
    decided = {cid for cid, outs in seen.items() if outs - {"not-applicable"}}
    assert known - decided == set(), "clause ids only ever not-applicable"


def test_clause_map_matches_the_shared_contract():
    """Every clause id of the team's clause map (tests/policy/data/clauses.md) is in the policy data; the policy
    data adds only the guideline's own sub-numbering below a mapped clause."""
    ids = documented_clause_ids()
    assert len(ids) >= 70 and ids <= set(POLICY.clauses)
    for extra in set(POLICY.clauses) - ids:
        assert extra.rsplit(".", 1)[0] in ids, f"{extra}: not in the clause map and not a sub-clause of one"


# ------------------------------------------------------------------ no codes or limits in evaluator code

ALLOWED_NUMBERS = {
    0,
    1,
    12,
    1e-9,
    1e-6,  # calendar months, float tolerance
    4,
    5,
    8,
    140,
}  # how many evidence lines to show; CDS Hooks summary length
CODE_LIKE = re.compile(r"^([A-TV-Z][0-9]{2}\.[0-9A-Z]{1,4}|[0-9]{3,5}-[0-9]|[0-9]{3}[A-Z0-9]{6}X|J[0-9]{4}|[0-9]{6,})$")


def _py_files():
    return sorted(p for p in POLICY_DIR.rglob("*.py"))


@pytest.mark.parametrize("path", _py_files(), ids=lambda p: p.name)
def test_evaluator_code_holds_no_codes_or_limits(path):
    tree = ast.parse(path.read_text())
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool):
            assert n.value in ALLOWED_NUMBERS, f"{path.name}:{n.lineno}: numeric literal {n.value} belongs in the data"
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            assert not CODE_LIKE.match(n.value.strip()), f"{path.name}:{n.lineno}: code literal {n.value!r}"
