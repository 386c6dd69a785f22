"""The executors of the parallel FHIR reads are kept between hook calls, one per call at a time. A forked child
starts with none: tests/integration/gather/test_fetch_pool_fork.py."""

from __future__ import annotations

import contextlib
import threading

import pytest

from cds_service.config import demo_settings
from cds_service.gather import fetch_pool
from cds_service.gather.collector import collect
from cds_service.gather.fetch_pool import IDLE_EXECUTORS, borrowed_executor, idle_count
from cds_service.protocol.request import parse_hook_request
from tests.conftest import load_request
from tests.gather.recording_fhir import RecordingFhir, chart_resources

# A size no other test uses, so the free list starts empty whatever ran before.
SIZE = 7


@pytest.fixture(autouse=True)
def empty_free_list():
    fetch_pool._forget_after_fork()
    yield
    for pools in fetch_pool._idle.values():
        for pool in pools:
            pool.shutdown()
    fetch_pool._forget_after_fork()


def _thread_names(pool, jobs: int = SIZE) -> set[str]:
    barrier = threading.Barrier(jobs, timeout=5)

    def job(_):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()  # forces several threads to exist at once
        return threading.current_thread().name

    return set(pool.map(job, range(jobs)))


def test_a_second_call_reuses_the_first_calls_threads():
    with borrowed_executor(SIZE) as pool:
        first = _thread_names(pool)
    assert idle_count(SIZE) == 1
    with borrowed_executor(SIZE) as again:
        assert again is pool
        second = _thread_names(again)
    assert first and all(name.startswith("fhir-read") for name in first)
    assert second <= first  # no new thread was started
    assert idle_count(SIZE) == 1


def test_calls_side_by_side_never_share_an_executor():
    with borrowed_executor(SIZE) as a, borrowed_executor(SIZE) as b:
        assert a is not b
    assert idle_count(SIZE) == 2
    with borrowed_executor(SIZE + 1) as other_size:
        assert other_size not in (a, b)


def test_at_most_the_idle_limit_is_kept_and_the_rest_shut_down():
    from contextlib import ExitStack

    with ExitStack() as stack:
        pools = [stack.enter_context(borrowed_executor(SIZE)) for _ in range(IDLE_EXECUTORS + 2)]
        for p in pools:
            p.submit(lambda: None).result()
    assert idle_count(SIZE) == IDLE_EXECUTORS
    shut = [p for p in pools if p._shutdown]
    assert len(shut) == 2
    with pytest.raises(RuntimeError):  # a shut-down executor takes no more work
        shut[0].submit(lambda: None)


def test_an_executor_whose_block_failed_is_not_kept():
    with pytest.raises(ValueError), borrowed_executor(SIZE) as pool:
        raise ValueError("boom")
    assert idle_count(SIZE) == 0
    assert pool._shutdown


def test_collect_hands_its_executor_back_and_reads_the_same_chart_twice():
    req = load_request("ra-complete")
    with RecordingFhir(chart_resources(req)) as fhir:
        req["fhirServer"] = fhir.url
        req["prefetch"] = {}  # every data need is read from the FHIR server
        settings = demo_settings().with_overrides(fhir_allow=(fhir.url,), fhir_max_workers=SIZE)
        hook = parse_hook_request(req, req["hook"])
        first = collect(hook, settings)
        assert idle_count(SIZE) == 1
        second = collect(hook, settings)
        assert idle_count(SIZE) == 1
        reads = fhir.paths()
    assert not first.technical_errors and not second.technical_errors
    for kind in ("Patient", "Condition", "MedicationStatement", "Observation", "Coverage"):
        got = sorted(r["id"] for r in first.of(kind))
        assert got and got == sorted(r["id"] for r in second.of(kind)), kind
    half = len(reads) // 2
    assert half >= 10 and sorted(reads[:half]) == sorted(reads[half:])  # the same reads both times
