"""The outbound FHIR client against a misbehaving loopback server: SSRF (allow-list, redirects,
foreign next links), faults (slow, hanging, dripping, 500, HTML, truncated, huge, gzip bomb,
endless paging) each stopped by its protection (tests/no_hang.py bounds the wait), the happy path, and no token
in logs."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from cds_service.config import Settings
from cds_service.gather.fhir_client import Budget, FhirAccessError, FhirClient, SearchResult, is_allowed, make_session
from tests.no_hang import finishes

try:  # tests/gather may or may not be a package
    from .misbehaving_fhir import MisbehavingFhir
except ImportError:
    from misbehaving_fhir import MisbehavingFhir

TOKEN = "synthetic-access-token-7f3a9c1e5b2d4086"
BUDGET = 0.5


def settings_for(fhir: MisbehavingFhir, **kw) -> Settings:
    base = dict(
        fhir_allow=(fhir.base,),
        fhir_timeout_seconds=2.0,
        fhir_budget_seconds=BUDGET,
        fhir_max_bytes=100_000,
        fhir_max_pages=5,
    )
    base.update(kw)
    return Settings(**base)


def make_client(fhir: MisbehavingFhir, *, budget: float = BUDGET, token: str | None = TOKEN, **kw) -> FhirClient:
    return FhirClient(fhir.base, token, settings_for(fhir, **kw), Budget(budget), session=make_session())


def requests_to(fhir: MisbehavingFhir, prefix: str) -> list[dict]:
    return [r for r in fhir.requests if r["path"].startswith("/fhir/" + prefix)]


# -- the allow-list ------------------------------------------------------------------------------

ALLOW = ("https://ehr.example.org/fhir/r4", "http://127.0.0.1:8913/fhir/")


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://ehr.example.org/fhir/r4", True),
        ("https://ehr.example.org/fhir/r4/", True),
        ("https://EHR.Example.org:443/fhir/r4/Patient/1", True),
        ("https://ehr.example.org./fhir/r4/Patient/1", True),
        ("http://127.0.0.1:8913/fhir", True),
        ("http://127.0.0.1:8913/fhir/Condition?patient=1", True),
        ("http://ehr.example.org/fhir/r4", False),  # scheme
        ("https://ehr.example.org:8443/fhir/r4", False),  # port
        ("https://ehr.example.org/fhir/r4b", False),  # path prefix on a segment boundary
        ("https://ehr.example.org/fhir", False),  # above the allowed path
        ("https://ehr.example.org/fhir/r4/../admin", False),  # dot segments
        ("https://ehr.example.org/fhir/r4/%2e%2e/admin", False),
        ("https://ehr.example.org/fhir/r4/..%2Fadmin", False),  # encoded slash
        ("https://user:pw@ehr.example.org/fhir/r4", False),  # userinfo
        ("https://ehr.example.org@evil.example/fhir/r4", False),
        ("http://127.0.0.1:8913\\@evil.example/fhir", False),
        ("https://evil.example/fhir/r4", False),
        ("https://ehr.example.org.evil.example/fhir/r4", False),
        ("ftp://ehr.example.org/fhir/r4", False),
        ("file:///etc/passwd", False),
        ("//ehr.example.org/fhir/r4", False),
        ("http://127.0.0.1:99999/fhir", False),  # invalid port
        ("http://localhost:8913/fhir", False),  # another host name
        ("", False),
        ("https://ehr.example.org/fhir/r4\n/x", False),
    ],
)
def test_is_allowed(url, expected):
    assert is_allowed(url, ALLOW) is expected


def test_empty_allow_list_allows_nothing():
    assert is_allowed("https://ehr.example.org/fhir/r4", ()) is False


# -- SSRF ----------------------------------------------------------------------------------------


def test_base_url_not_on_the_allow_list_makes_no_connection(fhir, listener):
    before = listener.connections()
    with pytest.raises(FhirAccessError) as err:
        FhirClient(listener.url("/fhir"), TOKEN, settings_for(fhir), Budget(BUDGET), session=make_session())
    assert err.value.kind == "not-allowed"
    assert listener.connections() == before


def test_redirect_to_another_host_is_not_followed(fhir, listener):
    before = listener.connections()
    with pytest.raises(FhirAccessError) as err:
        make_client(fhir).read("redirect/1")
    assert err.value.kind == "redirect" and err.value.status == 302
    assert listener.connections() == before
    assert len(requests_to(fhir, "redirect/")) >= 1


def test_next_link_to_another_host_is_refused(fhir, listener):
    before = listener.connections()
    with pytest.raises(FhirAccessError) as err:
        make_client(fhir).search("offsite-next")
    assert err.value.kind == "not-allowed"
    assert listener.connections() == before


def test_next_link_to_another_allowed_server_is_refused(fhir, listener):
    # Both servers are on the allow-list, but the token was issued for the first one only.
    before = listener.connections()
    client = FhirClient(
        fhir.base,
        TOKEN,
        settings_for(fhir, fhir_allow=(fhir.base, listener.url("/fhir"))),
        Budget(BUDGET),
        session=make_session(),
    )
    with pytest.raises(FhirAccessError) as err:
        client.search("offsite-next")
    assert err.value.kind == "not-allowed"
    assert listener.connections() == before


def test_prefetch_bundle_with_a_foreign_next_link_is_refused(fhir, listener):
    before = listener.connections()
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": listener.url("/fhir/Condition?page=2")}],
    }
    with pytest.raises(FhirAccessError) as err:
        make_client(fhir).expand_bundle(bundle)
    assert err.value.kind == "not-allowed"
    assert listener.connections() == before


@pytest.mark.parametrize("relative", ["../admin", "Patient/%2e%2e/%2e%2e/admin", "http://127.0.0.1:9/fhir/Patient/1"])
def test_relative_paths_cannot_escape_the_base(fhir, relative):
    n = len(fhir.requests)
    with pytest.raises(FhirAccessError) as err:
        make_client(fhir).read(relative)
    assert err.value.kind == "not-allowed"
    assert len(fhir.requests) == n


# -- faults, each stopped by the protection its error kind names (budget, timeout, size, shape) ---------


def _fails_within(fhir, call, kind: str, **client_kw) -> FhirAccessError:
    client = make_client(fhir, **client_kw)
    with pytest.raises(FhirAccessError) as err:
        finishes(call, client)
    assert err.value.kind == kind, err.value
    return err.value


def test_slow_server_exhausts_the_budget(fhir):
    _fails_within(fhir, lambda c: c.read("slow/1"), "budget")


def test_slow_server_hits_the_per_request_timeout_first(fhir):
    _fails_within(fhir, lambda c: c.read("slow/2"), "timeout", budget=5.0, fhir_timeout_seconds=0.3)


def test_hanging_server(fhir):
    _fails_within(fhir, lambda c: c.read("hang/1"), "budget")


def test_dripping_body_is_cut_at_the_budget(fhir):
    # Each byte arrives well within the per-read timeout: only the total budget can stop this.
    _fails_within(fhir, lambda c: c.read("drip/1"), "budget")


def test_http_500(fhir):
    err = _fails_within(fhir, lambda c: c.read("error/1"), "http-status")
    assert err.status == 500


def test_404_on_search_is_an_error(fhir):
    err = _fails_within(fhir, lambda c: c.search("NoSuchType?x=1"), "http-status")
    assert err.status == 404


def test_html_instead_of_json(fhir):
    _fails_within(fhir, lambda c: c.read("html/1"), "malformed")


def test_json_labelled_as_html(fhir):
    _fails_within(fhir, lambda c: c.read("json-as-html/1"), "malformed")


def test_body_shorter_than_its_content_length(fhir):
    _fails_within(fhir, lambda c: c.read("truncated/1"), "malformed")


def test_cut_off_json(fhir):
    _fails_within(fhir, lambda c: c.read("truncated-json/1"), "malformed")


def test_huge_content_length_is_refused_before_reading(fhir):
    err = _fails_within(fhir, lambda c: c.read("huge/1"), "too-large")
    assert "announced" in err.message


def test_endless_chunked_body_is_cut_at_the_size_limit(fhir):
    _fails_within(fhir, lambda c: c.read("huge-chunked/1"), "too-large", budget=5.0)


def test_gzip_bomb_is_cut_at_the_size_limit(fhir):
    err = _fails_within(fhir, lambda c: c.read("gzip-bomb/1"), "too-large", budget=5.0)
    assert "decodes to more than" in err.message  # small on the wire: the decoded size is what counts


def test_search_answered_by_a_non_bundle(fhir):
    _fails_within(fhir, lambda c: c.search("Patient/not-a-bundle"), "malformed")


def test_exhausted_budget_sends_nothing(fhir):
    n = len(fhir.requests)
    with pytest.raises(FhirAccessError) as err:
        make_client(fhir, budget=0.0).read("Patient/1")
    assert err.value.kind == "budget"
    assert len(fhir.requests) == n


def test_endless_paging_is_bounded(fhir):
    n = len(requests_to(fhir, "Observation"))
    result = finishes(make_client(fhir, budget=5.0).search, "Observation?patient=p1")
    assert isinstance(result, SearchResult)
    assert result.truncated is True and result.pages == 5
    assert [r["id"] for r in result] == ["o1", "o2", "o3", "o4", "o5"]
    assert len(requests_to(fhir, "Observation")) - n == 5


def test_next_link_pointing_to_itself_stops(fhir):
    n = len(requests_to(fhir, "Loop"))
    result = make_client(fhir, budget=5.0).search("Loop")
    assert result.truncated is True
    assert len(result) <= 2
    assert len(requests_to(fhir, "Loop")) - n <= 2


# -- happy paths ---------------------------------------------------------------------------------


def test_read_sends_accept_and_bearer(fhir):
    n = len(fhir.requests)
    patient = make_client(fhir).read("Patient/p1")
    assert patient == {"resourceType": "Patient", "id": "p1", "gender": "female"}
    sent = fhir.requests[n]["headers"]
    assert sent["Accept"] == "application/fhir+json"
    assert sent["Authorization"] == f"Bearer {TOKEN}"


def test_no_token_no_authorization_header(fhir):
    n = len(fhir.requests)
    make_client(fhir, token=None).read("Patient/p2")
    assert "Authorization" not in fhir.requests[n]["headers"]


@pytest.mark.parametrize("pid", ["missing", "gone"])
def test_404_and_410_read_as_none(fhir, pid):
    assert make_client(fhir).read(f"Patient/{pid}") is None


def test_search_follows_next_pages_with_the_token(fhir):
    n = len(fhir.requests)
    result = make_client(fhir, budget=5.0).search("Condition?patient=p1")
    assert [r["id"] for r in result] == ["c1", "c2", "c3"]
    assert result.pages == 3 and result.truncated is False
    sent = fhir.requests[n:]
    assert len(sent) == 3
    assert all(r["headers"].get("Authorization") == f"Bearer {TOKEN}" for r in sent)


def test_expand_prefetch_bundle(fhir):
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": f"{fhir.base}/Condition?patient=p1&page=2"}],
        "entry": [
            {"resource": {"resourceType": "Condition", "id": "c1"}},
            {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}},
        ],
    }
    result = make_client(fhir, budget=5.0).expand_bundle(bundle)
    assert [r["id"] for r in result] == ["c1", "c2", "c3"]


def test_gzip_body(fhir):
    assert make_client(fhir).read("gzip/1")["id"] == "gz"


def test_parallel_reads_share_one_client(fhir):
    client = make_client(fhir, budget=5.0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda i: client.read(f"Patient/par{i}")["id"], range(24)))
    assert ids == [f"par{i}" for i in range(24)]


def test_budget_counts_down_with_its_clock():
    now = [100.0]
    budget = Budget(2.0, clock=lambda: now[0])
    assert budget.remaining() == 2.0 and not budget.expired
    now[0] = 101.5
    assert budget.remaining() == pytest.approx(0.5)
    now[0] = 103.0
    assert budget.remaining() == 0.0 and budget.expired


# -- the token stays secret ----------------------------------------------------------------------


def test_token_never_logged_nor_in_errors(fhir, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(fhir, budget=5.0)
    client.read("Patient/p3")
    client.search("Condition?patient=p1")
    client.search("Observation?page=1")
    errors = []
    for path in ("error/1", "html/1", "redirect/1", "truncated-json/1", "offsite-next"):
        with pytest.raises(FhirAccessError) as err:
            client.search(path) if path == "offsite-next" else client.read(path)
        errors.append(err.value)
    assert caplog.records, "expected some log records to check"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    for e in errors:
        assert TOKEN not in str(e) and TOKEN not in e.message
    assert TOKEN not in repr(client)
