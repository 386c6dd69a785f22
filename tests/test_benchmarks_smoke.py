"""The load benchmark's own logic (benchmarks/README.md): percentiles, targets, steal, token supply, the large
chart. Whole benchmark runs (gunicorn workers, a client pool): tests/integration/test_benchmark_runs.py."""

from __future__ import annotations

import json
import math

from benchmarks import chart
from benchmarks.load import STEAL_SHARE, TARGETS, all_targets_pass, evaluate_targets, steal_summary
from benchmarks.loadgen import PhaseResult, percentile, summarize


def test_large_chart_is_a_renamed_enlarged_fixture():
    request, bundle = chart.large_chart("http://127.0.0.1:1234/fhir")
    counts = chart.count_resources(request)
    source = chart.count_resources(chart.load_request(chart.SOURCE_SLUG))
    assert counts["total"] >= 40 and counts["total"] > source["total"]
    text = json.dumps(request) + json.dumps(bundle)
    assert chart.SOURCE_PREFIX not in text  # never writes over a fixture patient
    assert "127.0.0.1:8913" not in text and "127.0.0.1:1234/fhir" in text
    ids = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]]
    assert len(ids) == len(set(ids))
    assert all(e["request"]["method"] == "PUT" for e in bundle["entry"])
    # every prefetched resource of the request is in the transaction Bundle for the FHIR server
    prefetched = set()
    for value in request["prefetch"].values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            prefetched |= {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in value.get("entry") or []}
    assert prefetched <= set(ids)
    # added history is older than the chart's own results, newest first as _sort=-date promises
    dates = [e["resource"]["effectiveDateTime"] for e in request["prefetch"]["observations"]["entry"]]
    own = chart.load_request(chart.SOURCE_SLUG)["prefetch"]["observations"]["entry"]
    assert min(e["resource"]["effectiveDateTime"] for e in own) >= max(dates[len(own) :])


def test_percentile_and_summary():
    values = sorted(float(i) for i in range(1, 101))
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert math.isnan(percentile([], 50))
    ph = PhaseResult(
        workload="w", target="t", clients=1, duration=1.0, starts=[0.0, 0.5, 0.95], latencies=[0.01, 0.02, 0.10]
    )
    ph.statuses.update({200: 3, 401: 1})
    s = summarize([ph])
    assert s["requests"] == 4 and s["errors"] == 1 and s["error_statuses"] == {"401": 1}
    assert s["throughput_rps"] == 2.0  # the third request ended after the window
    assert s["p50_ms"] == 20.0 and s["max_ms"] == 100.0


def _fake_report(p99: float, ratio: float, nofetch_p99: float | None, rss: float, first: float, errors: int = 0):
    stats = {"p99_ms": p99, "errors": errors}
    return {
        "workloads": {"large-chart": {"resources": {"total": 69}}},
        "full_prefetch": {
            w: {"service": stats, "ratios_service_over_baseline": {"throughput": ratio}}
            for w in ("large-chart", "fixture-mix")
        },
        "no_prefetch": (
            {"clients_1": {"p99_ms": nofetch_p99, "errors": 0}, "clients_4": {"p99_ms": 1.0}}
            if nofetch_p99 is not None
            else {"skipped": "--no-fhir"}
        ),
        "memory": {"service_workers": [{"rss_mb": rss}, {"rss_mb": rss - 1}]},
        "startup": {"service_first_answer_s": [first, first / 2]},
    }


def test_targets_pass_and_fail_on_the_limits():
    ok = evaluate_targets(
        _fake_report(
            TARGETS["full_prefetch_p99_ms"],
            TARGETS["throughput_vs_baseline"],
            TARGETS["no_prefetch_p99_ms"],
            TARGETS["rss_mb_per_worker"],
            TARGETS["first_answer_s"],
        ),
        4,
    )
    assert [t["pass"] for t in ok] == [True] * 7
    bad = evaluate_targets(_fake_report(25.1, 0.24, 151.0, 151.0, 2.1), 4)
    assert [t["pass"] for t in bad] == [False] * 7
    with_errors = evaluate_targets(_fake_report(1.0, 1.0, 1.0, 1.0, 0.1, errors=3), 4)
    assert [t["pass"] for t in with_errors][:4] == [False] * 4
    skipped = evaluate_targets(_fake_report(1.0, 1.0, None, 1.0, 0.1), 4)
    assert skipped[4]["pass"] is None


def test_the_fixture_mix_limits_are_a_reference_not_an_issue_target():
    """The issue sets its limits for a chart of at least 40 resources: the fixture mix (9 to 28 resources)
    is measured against them for reference and does not decide all_targets_pass; the large chart does."""
    report = _fake_report(10.0, 0.30, 40.0, 100.0, 1.0)
    report["full_prefetch"]["fixture-mix"]["ratios_service_over_baseline"]["throughput"] = 0.20
    targets = evaluate_targets(report, 4)
    mix = [t for t in targets if "fixture mix" in t["name"]]
    assert [t["issue_target"] for t in mix] == [False, False] and mix[1]["pass"] is False
    assert all_targets_pass(targets)
    report["full_prefetch"]["large-chart"]["ratios_service_over_baseline"]["throughput"] = 0.24
    assert not all_targets_pass(evaluate_targets(report, 4))
    unmeasured = evaluate_targets(_fake_report(10.0, 0.30, None, 100.0, 1.0), 4)
    assert not all_targets_pass(unmeasured)  # a target not measured is not met


def test_ratios_per_round_pair_each_service_round_with_its_baseline_round():
    from benchmarks.load import _ratios

    service = {
        "throughput_rps": 600.0,
        "p50_ms": 6.0,
        "p95_ms": 9.0,
        "p99_ms": 12.0,
        "server_cpu_ms_per_request": 2.7,
        "rounds": [{"throughput_rps": 620.0}, {"throughput_rps": 580.0}],
    }
    baseline = {
        "throughput_rps": 2400.0,
        "p50_ms": 1.5,
        "p95_ms": 2.3,
        "p99_ms": 4.8,
        "server_cpu_ms_per_request": 0.55,
        "rounds": [{"throughput_rps": 2400.0}, {"throughput_rps": 2400.0}],
    }
    q = _ratios(service, baseline)
    assert q["throughput"] == 0.25 and q["throughput_per_round"] == [0.258, 0.242]
    assert _ratios({"throughput_rps": 1.0}, {"throughput_rps": 2.0})["throughput_per_round"] == []


def _rounds_report(steals: list[float]) -> dict:
    rounds = [{"throughput_rps": 300.0, "p99_ms": 20.0 + 10 * st, "steal_share": st} for st in steals]
    res = {"service": {"rounds": rounds}, "baseline": {"steal_share": 0.0, "p99_ms": 8.0}}
    return {"full_prefetch": {"large-chart": res}}


def test_steal_summary_names_the_rounds_the_host_stalled():
    summary = steal_summary(_rounds_report([0.01, 0.194, STEAL_SHARE, 0.02]))
    assert summary["max_steal_share"] == 0.194
    assert [(r["target"], r["round"]) for r in summary["rounds_with_steal"]] == [("service", 2), ("service", 3)]
    assert summary["rounds_with_steal"][0]["p99_ms"] == 20.0 + 1.94
    # one round without a rounds list (--rounds 1): the summary itself is the round
    assert steal_summary(_rounds_report([0.0]))["rounds_with_steal"] == []
    assert steal_summary({})["max_steal_share"] is None


def test_clients_sign_tokens_for_the_fastest_rate_seen_so_far():
    """A warm-up during a slow second of the VM (rate 400 req/s) must not leave the later rounds, which ran at
    700 req/s, short of JWTs: the clients then sign during the timed phase, on the servers' cores."""
    from benchmarks.load import _expected_rate, _tokens_per_client

    slow_round = PhaseResult(
        workload="w", target="service", clients=4, duration=6.0, starts=[0.1] * 2400, latencies=[0.005] * 2400
    )
    fast_round = PhaseResult(
        workload="w", target="service", clients=4, duration=6.0, starts=[0.1] * 4200, latencies=[0.005] * 4200
    )
    assert _expected_rate(400.0, []) == 400.0
    assert _expected_rate(400.0, [slow_round, fast_round]) == 700.0
    assert _expected_rate(900.0, [fast_round]) == 900.0
    per_client_need = 700.0 / 4 * 6.0
    assert _tokens_per_client(_expected_rate(400.0, [fast_round]), 4, 6.0) >= 2 * per_client_need
    assert _tokens_per_client(400.0, 4, 6.0) < per_client_need * 1.5  # what the warm-up alone would give
