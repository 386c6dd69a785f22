"""Speed seams: each speed trick against its plain path, in one process, in alternating runs.

    python -m benchmarks.speed_seams [--rounds N]

- JWT: tokens verified per second by `JwtVerifier` with the signature and registered claims
  checked by `jwt.decode` (plain) and by hand (`hand_checked_claims=True`), ES384 and RS384,
  fresh tokens (unique jti) for every run, an in-memory replay cache.
- Frozen records: the models' compiled `__init__` (`frozen_dataclass_init.fast_init`) against the
  dataclass's own, per construction, over the models that use it.
- The decision of the large chart with each of those two `__init__`s (swapped in the same process).
Medians over the rounds; the ratio is plain time over fast time (1.10: the plain path takes 10% longer).
Figures and what was decided: benchmarks/README.md, "Speed seams".
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import orjson

from cds_service.config import Settings, TrustedIssuer
from cds_service.core.hook_call import run_hook
from cds_service.facts import model as facts_model
from cds_service.frozen_dataclass_init import plain_init
from cds_service.policy import model as policy_model
from cds_service.protocol.request import load_json, parse_hook_request
from cds_service.web.auth import JwtVerifier
from cds_service.web.replay_cache import MemoryReplayCache

from . import tokens
from .chart import large_chart

AUDIENCE = "https://cds.benchmark.invalid/cds-services/anakinra-order-sign"


def _alternate(paths: dict, rounds: int) -> dict[str, float]:
    """Run each path once per round, the order flipped every round; median seconds per run."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(paths[name]())
    return {name: statistics.median(values) for name, values in times.items()}


def jwt_paths(rounds: int, per_round: int) -> dict:
    out = {}
    tmp = Path(tempfile.mkdtemp(prefix="speed-seams-"))
    for alg in ("ES384", "RS384"):
        key = tokens.make_key(alg)
        jwks = tokens.write_jwks(key, tmp / f"{alg}.json")
        settings = Settings(
            auth_enabled=True,
            external_base_url="https://cds.benchmark.invalid",
            trusted_issuers=(TrustedIssuer(iss=tokens.BENCH_ISSUER, jwks_file=str(jwks)),),
            jwt_algorithms=(alg,),
            var_dir=str(tmp),
        )
        verifiers = {
            "plain": JwtVerifier(settings, MemoryReplayCache(), hand_checked_claims=False),
            "fast": JwtVerifier(settings, MemoryReplayCache(), hand_checked_claims=True),
        }

        def run(verifier, key=key):
            headers = ["Bearer " + t for t in tokens.mint_many(key, AUDIENCE, per_round)]

            def timed():
                started = time.perf_counter()
                for header in headers:
                    verifier.verify(header, AUDIENCE)
                return time.perf_counter() - started

            return timed

        # Each run mints its own tokens (outside the timed loop): a verifier never sees a jti twice.
        medians = _alternate({name: (lambda v=v: run(v)()) for name, v in verifiers.items()}, rounds)
        out[alg] = {
            "tokens_per_s_plain": round(per_round / medians["plain"]),
            "tokens_per_s_fast": round(per_round / medians["fast"]),
            "us_per_token_plain": round(medians["plain"] / per_round * 1e6, 1),
            "us_per_token_fast": round(medians["fast"] / per_round * 1e6, 1),
            "ratio": round(medians["plain"] / medians["fast"], 3),
        }
    return out


def _record_samples() -> list[tuple[type, dict]]:
    code = facts_model.Code("http://snomed.info/sct", "69896004")
    typical = {
        "outcome": policy_model.Outcome.MET,
        "kg": 70.0,
        "observed_on": date(2026, 3, 2),
        "value": 1.0,
        "code": code,
        "start": date(2026, 1, 1),
        "end": None,
    }
    return [
        (cls, {name: typical.get(name, f"{name}-value") for name in cls.__dataclass_fields__})
        for cls in fast_init_classes()
    ]


def fast_init_classes() -> list[type]:
    return [
        facts_model.Weight,
        facts_model.LabValue,
        facts_model.Diagnosis,
        facts_model.TherapySpan,
        facts_model.AllergyFact,
        policy_model.Evidence,
        policy_model.Missing,
        policy_model.ClauseResult,
    ]


def record_paths(rounds: int, per_round: int) -> dict:
    samples = _record_samples()
    fast = [(cls, cls.__init__, values) for cls, values in samples]
    plain = [(cls, plain_init(cls), values) for cls, values in samples]

    def run(inits):
        def timed():
            new = object.__new__
            started = time.perf_counter()
            for _ in range(per_round):
                for cls, init, values in inits:
                    init(new(cls), **values)
            return time.perf_counter() - started

        return timed

    medians = _alternate({"plain": run(plain), "fast": run(fast)}, rounds)
    per = per_round * len(samples)
    return {
        "us_per_record_plain": round(medians["plain"] / per * 1e6, 3),
        "us_per_record_fast": round(medians["fast"] / per * 1e6, 3),
        "ratio": round(medians["plain"] / medians["fast"], 3),
    }


def decision_with_records(rounds: int, per_round: int) -> dict:
    """The decision of the large chart (`run_hook`, prefetch only, as benchmarks/inprocess.py times it)
    with the models' compiled `__init__` and with the dataclass's own, swapped in the same process."""
    settings = Settings()
    raw = orjson.dumps(large_chart()[0])
    data = load_json(raw, settings.max_json_depth)
    request = dataclasses.replace(
        parse_hook_request(data, data["hook"], settings.max_draft_orders), fhir_server=None, access_token=None
    )
    now = datetime.now(UTC)
    compiled = {cls: cls.__init__ for cls in fast_init_classes()}

    def run(use_compiled: bool):
        def timed():
            for cls, init in compiled.items():
                cls.__init__ = init if use_compiled else plain_init(cls)
            try:
                started = time.perf_counter()
                for _ in range(per_round):
                    run_hook(request, settings, now, b"speed-seams")
                return time.perf_counter() - started
            finally:
                for cls, init in compiled.items():
                    cls.__init__ = init

        return timed

    run(True)()  # warm-up
    medians = _alternate({"plain": run(False), "fast": run(True)}, rounds)
    return {
        "ms_per_decision_plain": round(medians["plain"] / per_round * 1e3, 3),
        "ms_per_decision_fast": round(medians["fast"] / per_round * 1e3, 3),
        "ratio": round(medians["plain"] / medians["fast"], 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args(argv)
    print("jwt", jwt_paths(args.rounds, 300))
    print("frozen records", record_paths(args.rounds, 5000))
    print("decision (large chart), models' __init__", decision_with_records(args.rounds, 40))


if __name__ == "__main__":
    main()
