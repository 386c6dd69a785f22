"""Assemble the CDS Hooks response: cards plus one coverage-information systemAction per order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..policy.model import Decision, Finding
from .cards import CONFIG_OPTION, card_for, documentation_card
from .coverage_information import coverage_information, new_assertion_id, system_action
from .suggestions import Limits

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}

# CRD primary hooks (hooks.md §hook-16): "CRD Servers SHALL include a Coverage Information system action in
# the response". The certification kit (server_tests/service_response_validation_test.rb) therefore fails an
# order-sign / order-dispatch / appointment-book answer without a `systemActions` array, even when there is
# nothing to say (a non-anakinra order): those answers carry `systemActions: []`. This is the one place an
# empty array is sent besides `cards` (CDS Hooks 2.0 otherwise omits empty optional elements).
PRIMARY_HOOKS = ("order-sign", "order-dispatch", "appointment-book")


def empty_response(hook: str) -> dict:
    """The answer when there is nothing to say about any order."""
    body: dict = {"cards": []}
    if hook in PRIMARY_HOOKS:
        body["systemActions"] = []
    return body


@dataclass
class OrderOutcome:
    decision: Decision
    order: dict
    coverage_ref: str | None
    technical_reason: str | None = None
    satisfied_pa_id: str | None = None
    expiry: date | None = None
    cards: list[dict] = field(default_factory=list)
    coverage_extension: dict | None = None
    assertion_id: str = field(default_factory=new_assertion_id)  # coverage-assertion-id of this decision
    questionnaire: str | None = None  # the documentation questionnaire's canonical (DTR), when it would help
    form_url: str | None = None  # the signed link to the service's own form (made by the core)


def prune(value):
    """Drop null, "", [] and {} recursively (CDS Hooks: optional elements are omitted, never empty)."""
    if isinstance(value, dict):
        return {k: kept for k, v in value.items() if (kept := _pruned_or_none(v)) is not None}
    if isinstance(value, list):
        return [kept for v in value if (kept := _pruned_or_none(v)) is not None]
    return value


def _pruned_or_none(value):
    """The keep-or-drop rule for one element: a container pruned, None when it is to be dropped."""
    if isinstance(value, (dict, list)):
        return prune(value) or None
    return None if value == "" else value


def _enabled(config: dict, option: str, default=True):
    value = config.get(option, default)
    return value if isinstance(value, bool) else default


def build_response(
    outcomes: list[OrderOutcome],
    *,
    hook: str,
    hook_instance: str,
    today: date,
    plan_name: str,
    policy_url: str,
    patient_id: str,
    limits: Limits,
    config: dict | None = None,
    extra_findings: list[Finding] | None = None,
    extra_order: dict | None = None,
) -> dict:
    config = config or {}
    cards: list[dict] = []
    actions: list[dict] = []
    for oc in outcomes:
        for finding in oc.decision.findings:
            option = CONFIG_OPTION.get(finding.kind)
            if option and not _enabled(config, option):
                continue
            card = card_for(
                finding,
                oc.decision,
                oc.order,
                plan_name=plan_name,
                policy_url=policy_url,
                limits=limits,
                patient_id=patient_id,
            )
            oc.cards.append(card)
            cards.append(card)
        form_card = documentation_card(oc.decision, oc.form_url, plan_name=plan_name, policy_url=policy_url)
        if form_card is not None and _enabled(config, form_card["source"]["topic"]["code"]):
            oc.cards.append(form_card)
            cards.append(form_card)
        ext = coverage_information(
            oc.decision,
            hook=hook,
            hook_instance=hook_instance,
            coverage_ref=oc.coverage_ref,
            today=today,
            policy_url=policy_url,
            technical_reason=oc.technical_reason,
            satisfied_pa_id=oc.satisfied_pa_id,
            expiry=oc.expiry,
            limits=limits,
            assertion_id=oc.assertion_id,
            questionnaire=oc.questionnaire,
        )
        oc.coverage_extension = ext
        if _enabled(config, "coverage-info"):
            # Only our extension is pruned: the order itself is echoed as received.
            actions.append(system_action(oc.order, prune(ext)))
    for finding in extra_findings or []:
        cards.append(
            card_for(
                finding,
                None,
                extra_order,
                plan_name=plan_name,
                policy_url=policy_url,
                limits=limits,
                patient_id=patient_id,
            )
        )
    max_cards = config.get("max-cards")
    cards.sort(key=lambda c: SEVERITY_RANK.get(c["indicator"], 3))
    if isinstance(max_cards, int) and not isinstance(max_cards, bool) and max_cards >= 0:
        cards = cards[:max_cards]
    body: dict = {"cards": [prune(c) for c in cards]}
    if actions or hook in PRIMARY_HOOKS:
        body["systemActions"] = actions
    return body
