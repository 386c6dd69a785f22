"""CDS Hooks 2.0 on the wire, with no knowledge of the guideline: requests read and checked, errors as FHIR
OperationOutcomes.

- `load_json(raw, max_depth)`: the body as JSON, bounded in nesting (`request`).
- `parse_hook_request(data, hook, max_draft_orders=...)` -> `HookRequest`; `parse_feedback(data)` -> items;
  `RequestError` (status, message, code, field) for anything refused.
- `operation_outcome(...)`: the error body (`operation_outcome`).
"""

from .operation_outcome import operation_outcome
from .request import HookRequest, RequestError, load_json, parse_feedback, parse_hook_request

__all__ = ["HookRequest", "RequestError", "load_json", "operation_outcome", "parse_feedback", "parse_hook_request"]
