"""The load benchmark run end to end on a very short setting (benchmarks/README.md): it starts gunicorn workers
and a pool of clients, so it lives here.

Only the shape of the JSON report and the benchmark's own logic are checked, never a timing:
the figures of a 0.5 s run on a shared machine mean nothing.
"""

from __future__ import annotations

import json

import pytest

from benchmarks.load import main, render_table

TINY = [
    "--duration",
    "0.5",
    "--rounds",
    "1",
    "--clients",
    "1",
    "--warmup",
    "0.2",
    "--iterations",
    "3",
    "--nofetch-duration",
    "0.5",
    "--starts",
    "1",
    "--quiet",
]
STATS_KEYS = {
    "clients",
    "duration_s",
    "requests",
    "ok",
    "errors",
    "throughput_rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "server_cpu_ms_per_request",
    "client_cpu_ms_per_request",
}


def _only_report(out_dir) -> dict:
    files = list(out_dir.glob("*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def _check_common_shape(report: dict) -> None:
    assert report["schema"] == "anakinra-cds-load-benchmark/1"
    assert report["workloads"]["large-chart"]["resources"]["total"] >= 40
    for wname in ("large-chart", "fixture-mix"):
        res = report["full_prefetch"][wname]
        for target in ("service", "baseline"):
            assert res[target].keys() >= STATS_KEYS
            assert res[target]["requests"] > 0
            assert res[target]["errors"] == 0, res[target]["error_statuses"]  # every call answered 200
        q = res["ratios_service_over_baseline"]
        assert set(q) == {"throughput", "p50", "p95", "p99", "server_cpu_per_request", "throughput_per_round"}
        assert len(q["throughput_per_round"]) == len(res["service"].get("rounds", []))
    ip = report["in_process"]
    assert {"parse_ms", "decision_ms", "json_parse_share", "explain_validation_ms"} <= ip["large_chart"].keys()
    assert ip["large_chart"]["explain_validation_orders"] == 1  # the chart's one draft was validated
    assert 0 < ip["large_chart"]["json_parse_share"] < 1
    assert len(ip["per_fixture"]) == len(report["workloads"]["fixture-mix"]["requests"])
    assert ip["flask_path_large_chart"]["profile_top_own_time"]
    assert len({w["pid"] for w in report["memory"]["service_workers"]}) == 2  # -w 2
    assert all(w["rss_mb"] > 0 for w in report["memory"]["service_workers"])
    assert len(report["startup"]["service_first_answer_s"]) == 1
    assert "max_steal_share" in report and isinstance(report["rounds_with_steal"], list)
    names = [t["name"] for t in report["targets"]]
    assert len(names) == 7
    for t in report["targets"]:
        assert {"name", "limit", "measured", "unit", "comparison", "pass"} <= t.keys()


def test_benchmark_runs_end_to_end_without_fhir_server(tmp_path, capsys):
    assert main([*TINY, "--no-fhir", "--out", str(tmp_path)]) == 0
    report = _only_report(tmp_path)
    _check_common_shape(report)
    assert report["no_prefetch"] == {"skipped": "--no-fhir"}
    nf_target = next(t for t in report["targets"] if "no-prefetch" in t["name"])
    assert nf_target["pass"] is None
    assert report["all_targets_pass"] is False  # an unmeasured target is never a pass
    out = capsys.readouterr().out
    assert "service/baseline" in out and "Targets" in out


@pytest.mark.fhirserver
def test_benchmark_no_prefetch_path_against_the_fhir_test_server(tmp_path, fhir_base):
    assert main([*TINY, "--fhir-base", fhir_base, "--out", str(tmp_path)]) == 0
    report = _only_report(tmp_path)
    _check_common_shape(report)
    nf = report["no_prefetch"]
    assert nf["clients_1"].keys() >= STATS_KEYS
    assert nf["clients_1"]["requests"] > 0 and nf["clients_1"]["errors"] == 0, nf["clients_1"]["error_statuses"]
    assert "fixture requests" in nf["description"]  # the large chart is not loaded on a shared server


def test_the_table_shows_steal_per_round_and_notes_stalled_rounds(tmp_path):
    assert main([*TINY, "--no-fhir", "--rounds", "2", "--out", str(tmp_path)]) == 0
    report = _only_report(tmp_path)
    table = render_table(report)
    assert "service per round:" in table and "(steal " in table
    report["rounds_with_steal"] = [
        {"workload": "large-chart", "target": "service", "round": 2, "steal_share": 0.194, "p99_ms": 50.85}
    ]
    assert "large-chart service round 2 (19%, p99 50.9 ms)" in render_table(report)
    # Whether the load clients ran out of JWTs signed in advance depends on the machine's load: the table says so
    # exactly when the report counts tokens signed during the timed rounds.
    for workload in report["full_prefetch"].values():
        signed = workload["service"].get("tokens_signed_during_run", 0)
        assert (f"signed {signed} during the timed rounds" in table) == (signed > 0)
    report["full_prefetch"]["large-chart"]["service"]["tokens_signed_during_run"] = 0
    report["full_prefetch"]["fixture-mix"]["service"]["tokens_signed_during_run"] = 0
    assert "signed" not in render_table(report)
    report["full_prefetch"]["large-chart"]["service"]["tokens_signed_during_run"] = 906
    assert "signed 906 during the timed rounds" in render_table(report)
