"""The executors of the parallel FHIR reads after a fork (a gunicorn worker): the child starts with none of the
parent's and makes its own; the parent's stay."""

from __future__ import annotations

import multiprocessing

import pytest

from cds_service.gather.fetch_pool import borrowed_executor, idle_count
from tests.gather.test_fetch_pool import SIZE, _thread_names, empty_free_list  # noqa: F401  (autouse fixture)


def _child_reports(queue) -> None:
    before = idle_count(SIZE)
    with borrowed_executor(SIZE) as pool:
        names = _thread_names(pool)
    queue.put((before, bool(names), idle_count(SIZE)))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_child_starts_with_no_executors_and_makes_its_own():
    with borrowed_executor(SIZE) as pool:
        _thread_names(pool)
    assert idle_count(SIZE) == 1
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_reports, args=(queue,))
    child.start()
    before, worked, after = queue.get(timeout=30)
    child.join(timeout=30)
    assert (before, worked, after) == (0, True, 1)
    assert child.exitcode == 0
    assert idle_count(SIZE) == 1  # the parent's is untouched
