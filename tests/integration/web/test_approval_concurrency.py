"""One approval per order, whatever the concurrency: the same covered order signed at the same moment on two
service instances sharing one database gets one plan approval, and every answer carries its id."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from cds_service.app import create_app
from tests.conftest import load_request, pinned_clock
from tests.e2e.helpers import coverage_infos
from tests.integration.conftest import LiveServer

CALLS_PER_SERVER = 6


def test_the_same_order_signed_on_two_instances_at_once_gets_one_approval(settings, db_url):
    shared = settings.with_overrides(database_url=db_url)
    apps = [create_app(shared, clock=pinned_clock), create_app(shared, clock=pinned_clock)]
    store = apps[0].extensions["cds"].store
    req = load_request("ra-complete")
    start = threading.Barrier(2 * CALLS_PER_SERVER)
    with LiveServer(apps[0]) as one, LiveServer(apps[1]) as two:
        urls = [f"{srv.url}/cds-services/anakinra-order-sign" for srv in (one, two)] * CALLS_PER_SERVER

        def sign(i: int) -> dict:
            start.wait(10)
            resp = requests.post(urls[i], json=dict(req, hookInstance=f"3f6c1c2e-0000-4000-8000-{i:012d}"), timeout=30)
            assert resp.status_code == 200, resp.text
            return next(iter(coverage_infos(resp.json()).values()))

        with ThreadPoolExecutor(max_workers=len(urls)) as pool:
            answers = list(pool.map(sign, range(len(urls))))
    assert {a["covered"][0] for a in answers} == {"covered"}
    assert {a["pa-needed"][0] for a in answers} == {"satisfied"}
    ids = {a["satisfied-pa-id"][0] for a in answers}
    assert len(ids) == 1, ids
    rows = [a for a in store.list_authorizations() if a.source == "issued-by-service"]
    assert [a.pa_id for a in rows] == list(ids), rows
