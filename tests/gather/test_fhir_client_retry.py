"""One retry of an idempotent GET when the connection is dropped (issue 17, class 12), within the budget.

The misbehaving server's `flaky/<n>/...` drops the first <n> requests to a path without an answer, and
`flaky-body/<n>/...` closes the connection in the middle of the body. Before the fix the first drop was the
answer: the list it was reading counted as unread (the decision became indeterminate or unknown) although
one more try would have read it.
"""

from __future__ import annotations

import pytest

from cds_service.gather.fhir_client import Budget, FhirAccessError
from tests.gather.test_fhir_client import make_client, requests_to


@pytest.mark.parametrize("route", ["flaky/1/Patient/a", "flaky-body/1/Patient/b"])
def test_a_dropped_connection_is_tried_once_more(fhir, route):
    client = make_client(fhir, budget=5.0)
    res = client.read(route)
    assert res == {"resourceType": "Patient", "id": "flaky", "gender": "female"}
    assert len(requests_to(fhir, route)) == 2


@pytest.mark.parametrize("route, kind", [("flaky/2/Patient/c", "connection"), ("flaky-body/2/Patient/d", "malformed")])
def test_only_once(fhir, route, kind):
    client = make_client(fhir, budget=5.0)
    with pytest.raises(FhirAccessError) as err:
        client.read(route)
    assert err.value.kind == kind
    assert len(requests_to(fhir, route)) == 2  # the first try and one retry, no more


def test_no_retry_once_the_budget_is_used_up(fhir):
    now = [0.0]
    client = make_client(fhir)
    client._budget = Budget(1.0, clock=lambda: now[0])

    real = client._get_json_once

    def first_try_uses_the_budget(url, *, missing_ok):
        now[0] = 2.0  # the dropped try took the whole budget
        return real(url, missing_ok=missing_ok)

    client._get_json_once = first_try_uses_the_budget
    with pytest.raises(FhirAccessError):
        client.read("flaky/1/Patient/e")
    assert len(requests_to(fhir, "flaky/1/Patient/e")) <= 1


def test_an_http_error_is_not_retried(fhir):
    client = make_client(fhir, budget=5.0)
    before = len(requests_to(fhir, "error/"))
    with pytest.raises(FhirAccessError) as err:
        client.read("error/retry-check")
    assert err.value.kind == "http-status"
    assert len(requests_to(fhir, "error/")) == before + 1


def test_a_search_whose_connection_drops_once_is_read_whole(fhir):
    client = make_client(fhir, budget=5.0)
    # flaky/... answers a Patient, not a Bundle: the search reads it (after the retry) and refuses the shape,
    # which shows the retry happened on the search path too.
    with pytest.raises(FhirAccessError) as err:
        client.search("flaky/1/Condition?patient=p1")
    assert err.value.kind == "malformed"
    assert len(requests_to(fhir, "flaky/1/Condition")) == 2
