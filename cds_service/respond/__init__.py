"""The CDS Hooks answer for a call's decisions: Da Vinci CRD coverage information on each order, cards for what
the prescriber can change, and their suggestions.

- `build_response(outcomes, *, hook, ...)`: the response body for the orders' `OrderOutcome`s (`response`);
  `empty_response(hook)`: the answer when there is no anakinra order.
- `Limits.from_policy(limits)`: the dose limits the suggestions respect (`suggestions`).
- `new_assertion_id()`: one per decision, shared by the answer, the audit row and an approval
  (`coverage_information`).
"""

from .coverage_information import new_assertion_id
from .response import OrderOutcome, build_response, empty_response
from .suggestions import Limits

__all__ = ["Limits", "OrderOutcome", "build_response", "empty_response", "new_assertion_id"]
