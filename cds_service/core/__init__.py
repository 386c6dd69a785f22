"""The decision core, free of Flask: one hook call from the gathered chart to the answer, used alike by the
routes (`cds_service.web`) and the command line (`anakinra-cds explain`).

- `run_hook(req, settings, now, hash_key, session=None, authorizations=None, explain=False)` -> `CallResult`:
  gather -> facts -> policy -> respond for one validated `HookRequest` (`hook_call`); raises `DataUnavailable`
  when required data can be had neither from prefetch nor from `fhirServer` (the routes answer 412).
- `PlanAuthorizations(store, req)`: the plan's approvals in the store for one call, applied to each decision by
  `policy.apply_plan_approvals`; only the database calls live here (`approvals_on_file`).
- `record_call`, `record_feedback`: the audit row of a call and CDS Hooks feedback, in the store (`call_records`).
- `explanation(req, result)`: the whole decision as JSON (`explain`); `render_table(doc)`: as a table
  (`explain_table`).
- `SERVICES`, `SERVICES_BY_ID`, `discovery_document()`: the CDS services offered (`services`).
- `policy_url(settings)`: where the cards link to the guideline.
"""

from .approvals_on_file import PlanAuthorizations
from .call_records import record_call, record_feedback
from .explain import explanation
from .explain_table import render_table
from .hook_call import CallResult, DataUnavailable, policy_url, run_hook
from .services import CRD_CONFIGURATION_OPTIONS, SERVICES, SERVICES_BY_ID, ServiceDefinition, discovery_document

__all__ = [
    "CRD_CONFIGURATION_OPTIONS",
    "SERVICES",
    "SERVICES_BY_ID",
    "CallResult",
    "DataUnavailable",
    "PlanAuthorizations",
    "ServiceDefinition",
    "discovery_document",
    "explanation",
    "policy_url",
    "record_call",
    "record_feedback",
    "render_table",
    "run_hook",
]
