"""The load benchmark: `python -m benchmarks.load` (or `make bench`). See benchmarks/README.md.

One run, about two minutes with the defaults:
1. starts the embedded FHIR server (sekmet-fhir) on loopback, loaded with the fixture patients and
   the benchmark's large chart;
2. measures the decision alone in process (and the share spent parsing the FHIR JSON);
3. starts the service (`gunicorn -w 2 --preload cds_service.wsgi:app`, production profile, auth ON)
   and the baseline server (`benchmarks.baseline_app`, same gunicorn settings), timing each from
   process start to its first 200 answer;
4. replays order-sign requests with full prefetch from N client processes against both, in
   alternating rounds: the large chart (the target workload) and the mix of fixture requests;
5. reads the resident memory of every gunicorn worker;
6. runs the no-prefetch path (the service reads the chart from the FHIR server);
7. restarts the service a few times to time the first answer again;
8. writes benchmarks/results/<UTC timestamp>.json, prints a table and PASS/FAIL per target.

Exit status: 0 when the run completed (whatever the targets say; --strict makes a failed target
exit 1), 2 when the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from . import chart
from .loadgen import PhaseResult, Workload, run_phase, summarize
from .servers import FhirServer, Gunicorn, ServerError, free_port, memory_kb, time_to_first_answer
from .tokens import make_key, mint, trusted_issuers_env, write_jwks

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCHEMA = "anakinra-cds-load-benchmark/1"
ORDER_SIGN_PATH = "/cds-services/anakinra-order-sign"
UNREACHABLE_FHIR = "http://127.0.0.1:9/fhir"  # --no-fhir: allow-listed, never contacted with full prefetch
PINNED_NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # the fixtures' authoredOn day (in process)

BUSY_SHARE = 0.15  # other work above this share of the machine during a timed phase: a warning
STEAL_SHARE = 0.10  # CPU time the hypervisor took (steal) at or above this share of a timed round: named

TARGETS = {
    "full_prefetch_p99_ms": 25.0,
    "throughput_vs_baseline": 0.25,
    "no_prefetch_p99_ms": 150.0,
    "rss_mb_per_worker": 150.0,
    "first_answer_s": 2.0,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=4, help="concurrent client processes (default 4)")
    p.add_argument(
        "--duration",
        type=float,
        default=24.0,
        help="seconds of load per workload and server, split over --rounds (default 24)",
    )
    p.add_argument("--rounds", type=int, default=4, help="alternating service/baseline rounds (default 4)")
    p.add_argument("--warmup", type=float, default=1.0, help="untimed seconds before each workload (default 1)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers for both servers (default 2)")
    p.add_argument("--alg", choices=("ES384", "RS384"), default="ES384", help="the EHR's JWT algorithm")
    p.add_argument("--iterations", type=int, default=300, help="in-process iterations, large chart (default 300)")
    p.add_argument(
        "--nofetch-duration",
        type=float,
        default=8.0,
        help="seconds of the no-prefetch path, at 1 client and at --clients (default 8 each)",
    )
    p.add_argument("--starts", type=int, default=3, help="service starts timed to the first answer (default 3)")
    fhir = p.add_mutually_exclusive_group()
    fhir.add_argument(
        "--fhir-base",
        help="use this FHIR server (already loaded with the fixtures) "
        "instead of starting one; the large chart is then not loaded",
    )
    fhir.add_argument("--no-fhir", action="store_true", help="skip the FHIR server and the no-prefetch path")
    p.add_argument(
        "--database-url",
        default="",
        help="DATABASE_URL for the service's audit store (default: SQLite in the temporary "
        "CDS_VAR_DIR, the production profile's default)",
    )
    p.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for the machine to be idle (other work below "
        f"{int(BUSY_SHARE * 100)}%% of the CPUs for 3 s); default 0: start at once",
    )
    p.add_argument("--out", default=str(RESULTS_DIR), help="directory for the JSON report")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (logs, keys)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    p.add_argument("--quiet", action="store_true", help="print only the table")
    return p


# -- helpers -----------------------------------------------------------------------------------------


def _say(args, msg: str) -> None:
    if not args.quiet:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _git(*cmd: str) -> str | None:
    try:
        out = subprocess.run(["git", *cmd], cwd=str(ROOT), check=False, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def machine_info() -> dict:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        loadavg = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        loadavg = None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": loadavg,
    }


def service_env(port: int, jwks_file: Path, fhir_allow: str, var_dir: Path, database_url: str = "") -> dict[str, str]:
    """The production profile, configured only through the environment (cds_service.config.from_env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_") and k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(
        {
            "CDS_PROFILE": "production",
            "CDS_EXTERNAL_BASE_URL": f"http://127.0.0.1:{port}",
            "CDS_TRUSTED_ISSUERS": trusted_issuers_env(jwks_file),
            "CDS_FHIR_ALLOW": fhir_allow,
            "CDS_VAR_DIR": str(var_dir),
        }
    )
    return env


def _target(
    name: str,
    limit: float,
    measured,
    higher_is_better: bool = False,
    unit: str = "",
    note: str = "",
    issue_target: bool = True,
) -> dict:
    """One limit checked. `issue_target=False`: the same limit applied to a workload the issue does
    not set it for (shown PASS/FAIL as "ref", left out of all_targets_pass)."""
    if measured is None or (isinstance(measured, float) and math.isnan(measured)):
        ok = None
    else:
        ok = measured >= limit if higher_is_better else measured <= limit
    return {
        "name": name,
        "limit": limit,
        "measured": measured,
        "unit": unit,
        "comparison": ">=" if higher_is_better else "<=",
        "pass": ok,
        "note": note,
        "issue_target": issue_target,
    }


def _ratios(service: dict, baseline: dict) -> dict:
    def r(key):
        s, b = service.get(key), baseline.get(key)
        return round(s / b, 3) if s and b else None

    out = {
        "throughput": r("throughput_rps"),
        "p50": r("p50_ms"),
        "p95": r("p95_ms"),
        "p99": r("p99_ms"),
        "server_cpu_per_request": r("server_cpu_ms_per_request"),
    }
    # Round i of the service ran next to round i of the baseline (S B, B S, ...): the spread of these
    # ratios shows how far one run's figure can be trusted.
    pairs = zip(service.get("rounds") or [], baseline.get("rounds") or [], strict=False)
    out["throughput_per_round"] = [
        round(a["throughput_rps"] / b["throughput_rps"], 3)
        for a, b in pairs
        if a.get("throughput_rps") and b.get("throughput_rps")
    ]
    return out


def _tokens_per_client(rate: float, clients: int, seconds: float) -> int:
    """JWTs each client signs before a timed phase: twice what `rate` (req/s, all clients) needs. A client
    that runs out signs during the phase, on the cores the server needs (`tokens_signed_during_run`)."""
    return math.ceil(rate / max(1, clients) * seconds * 2.0) + 20


def _expected_rate(warm_up_rate: float, earlier: list[PhaseResult]) -> float:
    """The rate to sign tokens for: the warm-up's, or the fastest earlier round's when that was faster (a
    warm-up during a slow second of the VM once left the later rounds short of tokens)."""
    return max([warm_up_rate] + [p.completed_in_window / p.duration for p in earlier if p.duration > 0])


def wait_for_idle(args) -> dict:
    """Wait (up to --wait-idle seconds) until other work uses less than BUSY_SHARE of the machine."""
    from .servers import machine_cpu_seconds

    started = time.monotonic()
    window, ncpu = 3.0, os.cpu_count() or 1
    share = None
    while True:
        a = machine_cpu_seconds()
        time.sleep(window)
        b = machine_cpu_seconds()
        share = (b["busy"] - a["busy"]) / (window * ncpu)
        waited = time.monotonic() - started
        if share <= BUSY_SHARE or waited >= args.wait_idle:
            return {
                "waited_s": round(waited, 1),
                "busy_share_before_start": round(share, 3),
                "idle": share <= BUSY_SHARE,
            }
        _say(args, f"machine busy ({share * 100:.0f}% of the CPUs used by other work): waiting ...")


# -- the run -----------------------------------------------------------------------------------------


def run(args) -> dict:
    started = datetime.now(UTC)
    tmp = Path(tempfile.mkdtemp(prefix="anakinra-bench-"))
    report: dict = {
        "schema": SCHEMA,
        "started_at": started.isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        "service_code_modified": bool(_git("status", "--porcelain", "--", "cds_service")),
        "machine": machine_info(),
        "settings": {
            "clients": args.clients,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "workers": args.workers,
            "jwt_alg": args.alg,
            "iterations": args.iterations,
            "nofetch_duration_s": args.nofetch_duration,
            "starts": args.starts,
            "load_generator": "python http.client, one process per client",
            "audit_store": "DATABASE_URL given" if args.database_url else "SQLite in CDS_VAR_DIR (default)",
            "gunicorn": f"gunicorn -w {args.workers} --preload -b 127.0.0.1:PORT",
        },
    }
    if args.wait_idle > 0:
        report["machine"]["wait_for_idle"] = wait_for_idle(args)
    fhir: FhirServer | None = None
    servers: list[Gunicorn] = []
    try:
        key = make_key(args.alg)
        jwks = write_jwks(key, tmp / "jwks.json")

        # -- the FHIR server -----------------------------------------------------------------------
        chart_loaded = False
        if args.no_fhir:
            fhir_base = UNREACHABLE_FHIR
            report["fhir_server"] = {"skipped": "--no-fhir"}
        elif args.fhir_base:
            fhir_base = args.fhir_base.rstrip("/")
            report["fhir_server"] = {"base": "external (--fhir-base)", "large_chart_loaded": False}
        else:
            _say(args, "starting the FHIR server (sekmet-fhir) and loading the fixtures ...")
            fhir = FhirServer(tmp / "fhir").start()
            fhir_base = fhir.base
            report["fhir_server"] = {
                "base": "embedded sekmet-fhir on loopback",
                "start_and_load_s": round(fhir.load_seconds or 0, 2),
            }

        # -- workloads -----------------------------------------------------------------------------
        large_req, large_bundle = chart.large_chart(fhir_base)
        if fhir is not None:
            fhir.load(large_bundle)
            chart_loaded = True
            report["fhir_server"]["large_chart_loaded"] = True
        counts = chart.count_resources(large_req)
        large_body = orjson.dumps(large_req)
        mix_slugs = chart.order_sign_slugs()
        mix_reqs = [chart.with_fhir_server(chart.load_request(s), fhir_base) for s in mix_slugs]
        mix_bodies = [orjson.dumps(r) for r in mix_reqs]
        mix_counts = [chart.count_resources(r)["total"] for r in mix_reqs]
        workloads = {
            "large-chart": Workload(
                "large-chart",
                ORDER_SIGN_PATH,
                [large_body],
                f"{chart.SOURCE_SLUG} enlarged to {counts['total']} resources",
            ),
            "fixture-mix": Workload(
                "fixture-mix", ORDER_SIGN_PATH, mix_bodies, f"{len(mix_bodies)} fixture order-sign requests, cycled"
            ),
        }
        report["workloads"] = {
            "large-chart": {
                "description": workloads["large-chart"].description,
                "resources": counts,
                "body_bytes": len(large_body),
                "patient": chart.CHART_PATIENT,
            },
            "fixture-mix": {
                "description": workloads["fixture-mix"].description,
                "requests": mix_slugs,
                "resources_min": min(mix_counts),
                "resources_max": max(mix_counts),
                "body_bytes_mean": round(sum(map(len, mix_bodies)) / len(mix_bodies)),
            },
        }

        # -- in process ----------------------------------------------------------------------------
        _say(args, "in process: the decision alone ...")
        from cds_service.config import from_env

        from . import inprocess

        inproc_port = free_port()
        inproc_settings = from_env(service_env(inproc_port, jwks, fhir_base, tmp / "var-inprocess", args.database_url))
        source_body = orjson.dumps(chart.with_fhir_server(chart.load_request(chart.SOURCE_SLUG), fhir_base))
        sig_large = inprocess.decision_signature(large_body, inproc_settings, PINNED_NOW)
        sig_source = inprocess.decision_signature(source_body, inproc_settings, PINNED_NOW)
        if sig_large != sig_source:
            raise chart.ChartError(f"the large chart changed the decision: {sig_large} != {sig_source}")
        report["workloads"]["large-chart"]["decision"] = sig_large
        per_fixture = max(3, args.iterations // 10)
        mix_inproc = {
            slug: inprocess.measure_request(body, inproc_settings, PINNED_NOW, per_fixture)
            for slug, body in zip(mix_slugs, mix_bodies, strict=True)
        }
        report["in_process"] = {
            "note": "medians; decision = run_hook on the prefetch alone (no network); pinned date 2026-03-02",
            "large_chart": inprocess.measure_request(large_body, inproc_settings, PINNED_NOW, args.iterations),
            "fixture_mix_median_of_medians": {
                k: round(sorted(v[k] for v in mix_inproc.values())[len(mix_inproc) // 2], 3)
                for k in ("parse_ms", "decision_ms", "serialise_ms", "total_ms", "explain_validation_ms")
            },
            "per_fixture": mix_inproc,
            "flask_path_large_chart": inprocess.measure_flask_path(
                large_body, inproc_settings, key, args.iterations, max(10, args.iterations // 3), 25
            ),
        }

        # -- servers and time to first answer ------------------------------------------------------
        _say(args, "starting the service and the baseline under gunicorn ...")
        svc_port = free_port()
        svc_env = service_env(svc_port, jwks, fhir_base, tmp / "var-service", args.database_url)
        audience = f"http://127.0.0.1:{svc_port}{ORDER_SIGN_PATH}"
        json_headers = {"Content-Type": "application/json", "Accept": "application/json"}

        def svc_headers(aud=audience):
            return lambda: json_headers | {"Authorization": "Bearer " + mint(key, aud)}

        service = Gunicorn("service", "cds_service.wsgi:app", svc_env, tmp, args.workers, svc_port).start()
        servers.append(service)
        first_answers = [time_to_first_answer(service, ORDER_SIGN_PATH, large_body, svc_headers())]
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
        baseline = Gunicorn("baseline", "benchmarks.baseline_app:app", base_env, tmp, args.workers).start()
        servers.append(baseline)
        baseline_first = time_to_first_answer(baseline, ORDER_SIGN_PATH, large_body, lambda: json_headers)
        svc_workers = service.worker_pids(args.workers)
        base_workers = baseline.worker_pids(args.workers)
        # The baseline ignores Authorization; it gets a header of the same size (same bytes on the wire).
        static_auth = "Bearer " + mint(key, audience)

        # -- full prefetch: service vs baseline, alternating rounds ---------------------------------
        phases: dict[tuple[str, str], list[PhaseResult]] = {}
        per_phase = args.duration / max(1, args.rounds)
        for wname in ("large-chart", "fixture-mix"):
            wl = workloads[wname]
            _say(args, f"warm-up {wname} ({args.warmup:g} s per server) ...")
            warm = run_phase(
                service.port,
                wl,
                target="service",
                clients=args.clients,
                duration=args.warmup,
                key=key,
                audience=audience,
                tokens_per_client=5,
                server_pids=svc_workers,
            )
            run_phase(
                baseline.port,
                wl,
                target="baseline",
                clients=args.clients,
                duration=args.warmup,
                static_authorization=static_auth,
            )
            rate = max(50.0, warm.completed_in_window / max(args.warmup, 0.1))
            for r in range(args.rounds):
                order = ("service", "baseline") if r % 2 == 0 else ("baseline", "service")
                for target in order:
                    _say(
                        args,
                        f"{wname}: round {r + 1}/{args.rounds}, {target}, {per_phase:g} s, {args.clients} clients ...",
                    )
                    if target == "service":
                        service.check_alive()
                        ph = run_phase(
                            service.port,
                            wl,
                            target=target,
                            clients=args.clients,
                            duration=per_phase,
                            key=key,
                            audience=audience,
                            tokens_per_client=_tokens_per_client(
                                _expected_rate(rate, phases.get((wname, "service"), [])), args.clients, per_phase
                            ),
                            server_pids=svc_workers,
                        )
                    else:
                        baseline.check_alive()
                        ph = run_phase(
                            baseline.port,
                            wl,
                            target=target,
                            clients=args.clients,
                            duration=per_phase,
                            static_authorization=static_auth,
                            server_pids=base_workers,
                        )
                    phases.setdefault((wname, target), []).append(ph)
        report["full_prefetch"] = {}
        for wname in workloads:
            s = summarize(phases[(wname, "service")])
            b = summarize(phases[(wname, "baseline")])
            report["full_prefetch"][wname] = {
                "service": s,
                "baseline": b,
                "ratios_service_over_baseline": _ratios(s, b),
            }

        memory = {"service_workers": [], "baseline_workers": [], "service_master": None}

        def sample_memory(label: str) -> None:
            for pid in service.worker_pids(args.workers):
                m = memory_kb(pid)
                memory["service_workers"].append(
                    {
                        "when": label,
                        "pid": pid,
                        "rss_mb": round(m["VmRSS"] / 1024, 1),
                        "peak_rss_mb": round(m["VmHWM"] / 1024, 1),
                    }
                )
            if label == "after full-prefetch load":
                for pid in baseline.worker_pids(args.workers):
                    m = memory_kb(pid)
                    memory["baseline_workers"].append(
                        {
                            "when": label,
                            "pid": pid,
                            "rss_mb": round(m["VmRSS"] / 1024, 1),
                            "peak_rss_mb": round(m["VmHWM"] / 1024, 1),
                        }
                    )
                m = memory_kb(service.proc.pid)
                memory["service_master"] = {"pid": service.proc.pid, "rss_mb": round(m["VmRSS"] / 1024, 1)}

        sample_memory("after full-prefetch load")
        baseline.stop()

        # -- no prefetch: the service reads the chart from the FHIR server -------------------------
        if args.no_fhir:
            report["no_prefetch"] = {"skipped": "--no-fhir"}
        else:
            if chart_loaded:
                nf = Workload(
                    "no-prefetch",
                    ORDER_SIGN_PATH,
                    [orjson.dumps(chart.without_prefetch(large_req))],
                    "the large chart, no prefetch: every data need read from the FHIR server",
                )
            else:
                nf = Workload(
                    "no-prefetch",
                    ORDER_SIGN_PATH,
                    [orjson.dumps(chart.without_prefetch(r)) for r in mix_reqs],
                    "the fixture requests, no prefetch (large chart not loaded on this server)",
                )
            _say(
                args,
                f"no-prefetch: warm-up, then {args.nofetch_duration:g} s at 1 client and at {args.clients} clients ...",
            )
            warm = run_phase(
                service.port,
                nf,
                target="service",
                clients=1,
                duration=args.warmup,
                key=key,
                audience=audience,
                tokens_per_client=5,
                server_pids=svc_workers,
            )
            if warm.errors:
                raise ServerError(f"no-prefetch warm-up failed: {dict(warm.statuses)}")
            rate1 = max(20.0, warm.completed_in_window / max(args.warmup, 0.1))
            side = [fhir.pid] if fhir is not None and fhir.pid else None
            one = run_phase(
                service.port,
                nf,
                target="service",
                clients=1,
                duration=args.nofetch_duration,
                key=key,
                audience=audience,
                tokens_per_client=_tokens_per_client(rate1, 1, args.nofetch_duration),
                server_pids=svc_workers,
                side_pids=side,
            )
            report["no_prefetch"] = {
                "description": nf.description,
                "clients_1": summarize([one]),
                "note": "server CPU counts the service workers only; helper CPU is the "
                "FHIR server's (when started by the benchmark)",
            }
            if args.clients > 1:
                many = run_phase(
                    service.port,
                    nf,
                    target="service",
                    clients=args.clients,
                    duration=args.nofetch_duration,
                    key=key,
                    audience=audience,
                    tokens_per_client=_tokens_per_client(rate1 * 2, args.clients, args.nofetch_duration),
                    server_pids=svc_workers,
                    side_pids=side,
                )
                report["no_prefetch"][f"clients_{args.clients}"] = summarize([many])
            sample_memory("after no-prefetch load")
        report["memory"] = memory
        service.stop()

        # -- time to first answer, again --------------------------------------------------------------
        for i in range(1, args.starts):
            _say(args, f"cold start {i + 1}/{args.starts} ...")
            port = free_port()
            extra = Gunicorn(
                f"service-start{i + 1}",
                "cds_service.wsgi:app",
                service_env(port, jwks, fhir_base, tmp / f"var-start{i + 1}", args.database_url),
                tmp,
                args.workers,
                port,
            ).start()
            servers.append(extra)
            try:
                first_answers.append(
                    time_to_first_answer(
                        extra, ORDER_SIGN_PATH, large_body, svc_headers(f"http://127.0.0.1:{port}{ORDER_SIGN_PATH}")
                    )
                )
            finally:
                extra.stop()
        report["startup"] = {
            "service_first_answer_s": [round(x, 3) for x in first_answers],
            "baseline_first_answer_s": round(baseline_first, 3),
            "note": "from spawning gunicorn (--preload, warm-up at import) to the first 200 "
            "answer to the large chart with full prefetch and a valid JWT",
        }
    finally:
        for srv in servers:
            srv.stop()
        if fhir is not None:
            fhir.stop()
        if args.keep_tmp:
            report["tmp_dir"] = str(tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    shares = [
        st.get("other_cpu_share")
        for res in report.get("full_prefetch", {}).values()
        for st in (res["service"], res["baseline"])
    ]
    shares += [v.get("other_cpu_share") for k, v in report.get("no_prefetch", {}).items() if k.startswith("clients_")]
    shares = [x for x in shares if x is not None]
    report["max_other_cpu_share"] = max(shares) if shares else None
    report["machine_was_busy"] = bool(shares) and max(shares) > BUSY_SHARE
    report.update(steal_summary(report))
    report["targets"] = evaluate_targets(report, args.clients)
    report["all_targets_pass"] = all_targets_pass(report["targets"])
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


FIXTURE_MIX_NOTE = "reference: the issue's limits are for a chart of at least 40 resources"


def steal_summary(report: dict) -> dict:
    """CPU time the hypervisor took from this VM (`steal` in /proc/stat) during the full-prefetch rounds:
    the largest share, and every round at or above STEAL_SHARE with its p99. A round the host stalled
    has a p99 that says more about the host than about the code; the pooled figures and the targets
    still count it."""
    rounds = []
    for wname, res in report.get("full_prefetch", {}).items():
        for target in ("service", "baseline"):
            for i, r in enumerate(res[target].get("rounds") or [res[target]]):
                if r.get("steal_share") is not None:
                    rounds.append(
                        {
                            "workload": wname,
                            "target": target,
                            "round": i + 1,
                            "steal_share": r["steal_share"],
                            "p99_ms": r.get("p99_ms"),
                        }
                    )
    return {
        "max_steal_share": max((r["steal_share"] for r in rounds), default=None),
        "rounds_with_steal": [r for r in rounds if r["steal_share"] >= STEAL_SHARE],
    }


def all_targets_pass(targets: list[dict]) -> bool:
    """Every target the issue sets was measured and met (reference limits do not count)."""
    issue = [t for t in targets if t.get("issue_target", True)]
    return bool(issue) and all(t["pass"] is True for t in issue)


def evaluate_targets(report: dict, clients: int) -> list[dict]:
    fp = report["full_prefetch"]
    large = fp["large-chart"]
    n = report["workloads"]["large-chart"]["resources"]["total"]
    out = [
        _target(
            f"order-sign, full prefetch, large chart ({n} resources), p99 at {clients} clients",
            TARGETS["full_prefetch_p99_ms"],
            large["service"]["p99_ms"],
            unit="ms",
        ),
        _target(
            "order-sign, full prefetch, large chart, throughput / baseline",
            TARGETS["throughput_vs_baseline"],
            large["ratios_service_over_baseline"]["throughput"],
            higher_is_better=True,
            unit="x",
        ),
        # The issue sets these limits for a realistic chart (at least 40 resources). The fixture mix
        # (charts of 9 to 28 resources) is held to the same limits for reference only.
        _target(
            f"order-sign, full prefetch, fixture mix, p99 at {clients} clients",
            TARGETS["full_prefetch_p99_ms"],
            fp["fixture-mix"]["service"]["p99_ms"],
            unit="ms",
            note=FIXTURE_MIX_NOTE,
            issue_target=False,
        ),
        _target(
            "order-sign, full prefetch, fixture mix, throughput / baseline",
            TARGETS["throughput_vs_baseline"],
            fp["fixture-mix"]["ratios_service_over_baseline"]["throughput"],
            higher_is_better=True,
            unit="x",
            note=FIXTURE_MIX_NOTE,
            issue_target=False,
        ),
    ]
    nf = report.get("no_prefetch", {})
    if "clients_1" in nf:
        out.append(
            _target(
                "no-prefetch path (FHIR server on loopback), p99 at 1 client",
                TARGETS["no_prefetch_p99_ms"],
                nf["clients_1"]["p99_ms"],
                unit="ms",
                note=f"at {clients} clients: p99 {nf.get(f'clients_{clients}', {}).get('p99_ms')} ms "
                "(reported, not a target: the FHIR server shares the 2 cores)",
            )
        )
    else:
        out.append(
            _target(
                "no-prefetch path p99 at 1 client",
                TARGETS["no_prefetch_p99_ms"],
                None,
                unit="ms",
                note="not measured (" + nf.get("skipped", "?") + ")",
            )
        )
    rss = [w["rss_mb"] for w in report["memory"]["service_workers"]]
    out.append(
        _target(
            "resident memory per service worker (max VmRSS)",
            TARGETS["rss_mb_per_worker"],
            max(rss) if rss else None,
            unit="MB",
        )
    )
    starts = report["startup"]["service_first_answer_s"]
    out.append(
        _target(
            f"first answer after process start (worst of {len(starts)})",
            TARGETS["first_answer_s"],
            max(starts) if starts else None,
            unit="s",
        )
    )
    for t in out:
        # a load phase with errors never passes: the figures would describe something else
        if "full prefetch" in t["name"]:
            wl = "large-chart" if "large chart" in t["name"] else "fixture-mix"
            if fp[wl]["service"]["errors"]:
                t["pass"] = False
                t["note"] = f"{fp[wl]['service']['errors']} failed requests"
    if "clients_1" in nf and nf["clients_1"]["errors"]:
        out[4]["pass"] = False
        out[4]["note"] = f"{nf['clients_1']['errors']} failed requests"
    return out


# -- output ------------------------------------------------------------------------------------------


def _fmt(v, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def render_table(report: dict) -> str:
    s = report["settings"]
    lines = [
        f"anakinra-cds load benchmark  {report['started_at']}  commit {(report.get('git_commit') or '?')[:10]}"
        f"{' (cds_service modified)' if report.get('service_code_modified') else ''}",
        f"{report['machine']['cpus']} CPUs ({report['machine']['cpu_model']}), Python {report['machine']['python']}; "
        f"{s['gunicorn']}; {s['clients']} clients; JWT {s['jwt_alg']}; {s['duration_s']:g} s per server "
        f"and workload in {s['rounds']} alternating rounds",
        "",
    ]
    head = (
        f"  {'':<18}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'srv CPU ms/req':>16}"
        f"{'errors':>8}{'other CPU':>11}"
    )

    def other(r) -> str:
        v = r.get("other_cpu_share")
        return "-" if v is None else f"{v * 100:.0f}%"

    for wname, res in report["full_prefetch"].items():
        w = report["workloads"][wname]
        extra = (
            f"{w['resources']['total']} resources, {w['body_bytes'] // 1024} KB"
            if wname == "large-chart"
            else f"{len(w['requests'])} requests, {w['resources_min']}-{w['resources_max']} resources"
        )
        lines.append(f"Full prefetch, {wname} ({extra})")
        lines.append(head)
        for target in ("service", "baseline"):
            r = res[target]
            lines.append(
                f"  {target:<18}{_fmt(r['throughput_rps']):>9}{_fmt(r['p50_ms'], '.2f'):>9}"
                f"{_fmt(r['p95_ms'], '.2f'):>9}{_fmt(r['p99_ms'], '.2f'):>9}{_fmt(r['max_ms'], '.2f'):>9}"
                f"{_fmt(r['server_cpu_ms_per_request'], '.2f'):>16}{r['errors']:>8}{other(r):>11}"
            )
        q = res["ratios_service_over_baseline"]
        lines.append(
            f"  {'service/baseline':<18}{_fmt(q['throughput'], '.3f'):>9}{_fmt(q['p50'], '.2f'):>9}"
            f"{_fmt(q['p95'], '.2f'):>9}{_fmt(q['p99'], '.2f'):>9}{'':>9}"
            f"{_fmt(q['server_cpu_per_request'], '.2f'):>16}"
        )
        rounds = res["service"].get("rounds")
        if rounds:
            lines.append(
                "  service per round: "
                + ", ".join(
                    f"{x['throughput_rps']:.0f} req/s p99 {_fmt(x['p99_ms'], '.1f')} ms"
                    + (f" (steal {x['steal_share'] * 100:.0f}%)" if x.get("steal_share") is not None else "")
                    for x in rounds
                )
            )
        if q.get("throughput_per_round"):
            lines.append(
                "  throughput ratio per round (service round / the baseline round beside it): "
                + ", ".join(f"{x:.3f}" for x in q["throughput_per_round"])
            )
        signed = res["service"].get("tokens_signed_during_run") or 0
        if signed:
            lines.append(
                f"  note: the load clients ran out of JWTs signed in advance and signed {signed} during "
                f"the timed rounds, on the cores the service needed: its throughput is understated"
            )
        lines.append("")
    nf = report.get("no_prefetch", {})
    if "clients_1" in nf:
        lines.append(f"No prefetch ({nf['description']})")
        lines.append(head)
        for k, r in nf.items():
            if k.startswith("clients_"):
                lines.append(
                    f"  {k.replace('clients_', '') + ' client(s)':<18}{_fmt(r['throughput_rps']):>9}"
                    f"{_fmt(r['p50_ms'], '.2f'):>9}{_fmt(r['p95_ms'], '.2f'):>9}{_fmt(r['p99_ms'], '.2f'):>9}"
                    f"{_fmt(r['max_ms'], '.2f'):>9}{_fmt(r['server_cpu_ms_per_request'], '.2f'):>16}"
                    f"{r['errors']:>8}{other(r):>11}"
                )
        lines.append("")
    ip = report["in_process"]
    lc = ip["large_chart"]
    fl = ip["flask_path_large_chart"]
    mx = ip["fixture_mix_median_of_medians"]
    lines += [
        "In process (medians)",
        f"  large chart: parse {lc['parse_ms']:.2f} ms + decision {lc['decision_ms']:.2f} ms + serialise "
        f"{lc['serialise_ms']:.2f} ms = {lc['total_ms']:.2f} ms (parsing the FHIR JSON "
        f"{lc['json_parse_share'] * 100:.0f}% of it)",
        f"  fixture mix: parse {mx['parse_ms']:.2f} ms, decision {mx['decision_ms']:.2f} ms, "
        f"total {mx['total_ms']:.2f} ms",
        f"  fhir.resources validation of the draft order (explain only, not on the hook path): "
        f"{lc['explain_validation_ms']:.2f} ms",
        f"  whole Flask path (auth on, test client): {fl['flask_request_ms']:.2f} ms; JWT check alone "
        f"({fl['jwt_alg']}, incl. replay cache) {fl['jwt_verify_ms']:.2f} ms",
        "",
    ]
    mem = report["memory"]
    lines.append(
        "Memory (VmRSS): service workers "
        + ", ".join(f"{w['rss_mb']:.0f} MB" for w in mem["service_workers"])
        + f" (peak {max(w['peak_rss_mb'] for w in mem['service_workers']):.0f} MB)"
        + "; baseline workers "
        + ", ".join(f"{w['rss_mb']:.0f} MB" for w in mem["baseline_workers"])
    )
    st = report["startup"]
    lines.append(
        "First answer after start: service "
        + ", ".join(f"{x:.2f} s" for x in st["service_first_answer_s"])
        + f"; baseline {st['baseline_first_answer_s']:.2f} s"
    )
    if report.get("machine_was_busy"):
        lines.append(
            f"WARNING: other work used up to {report['max_other_cpu_share'] * 100:.0f}% of the machine during "
            f"a timed phase (column 'other CPU'): these figures are not representative. Re-run on an "
            f"idle machine."
        )
    stolen = report.get("rounds_with_steal") or []
    if stolen:
        lines.append(
            f"NOTE: the hypervisor took {STEAL_SHARE * 100:.0f}% or more of the CPUs (steal) in "
            + ", ".join(
                f"{r['workload']} {r['target']} round {r['round']} ({r['steal_share'] * 100:.0f}%, "
                f"p99 {_fmt(r['p99_ms'], '.1f')} ms)"
                for r in stolen
            )
            + ". The pooled figures and the targets include these rounds."
        )
    lines.append("")
    lines.append("Targets")
    for t in report["targets"]:
        mark = {True: "PASS", False: "FAIL", None: "n/a "}[t["pass"]]
        if not t.get("issue_target", True):
            mark = "ref "
        meas = _fmt(t["measured"], ".3f" if t["unit"] == "x" else ".2f")
        verdict = "" if t.get("issue_target", True) else {True: " met", False: " NOT met", None: " n/a"}[t["pass"]]
        lines.append(
            f"  {mark}  {t['name']}: {meas} {t['unit']} (target {t['comparison']} {t['limit']:g} {t['unit']}"
            f"{verdict})" + (f"  [{t['note']}]" if t.get("note") else "")
        )
    return "\n".join(lines)


def write_report(report: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(report["started_at"]).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or args.rounds < 1 or args.starts < 1 or args.iterations < 1:
        print("error: --clients, --duration, --rounds, --starts and --iterations must be positive", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        report = run(args)
    except (ServerError, chart.ChartError, OSError, RuntimeError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    report["wall_time_s"] = round(time.perf_counter() - t0, 1)
    path = write_report(report, Path(args.out))
    print(render_table(report))
    print(f"\nReport: {path}  (wall time {report['wall_time_s']:.0f} s)")
    if args.strict and not report["all_targets_pass"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
