"""Command line: `anakinra-cds serve | fhir-server | explain | ...`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from werkzeug.serving import run_simple

from . import __version__, embedded_fhir
from .app import create_app, warm_up
from .config import demo_settings, from_env
from .core.explain import explanation
from .core.explain_table import render_table
from .core.hook_call import DataUnavailable, run_hook
from .core.services import SERVICES
from .log_setup import configure
from .protocol.request import RequestError, load_json, parse_hook_request
from .store import commands as store_commands


def _serve(args) -> int:
    configure("INFO")
    logging.getLogger("werkzeug").setLevel("INFO")
    if args.profile == "production":
        settings = from_env(profile="production")
    else:
        settings = from_env(profile="demo")
        base = demo_settings(args.host, args.port)
        settings = settings.with_overrides(external_base_url=base.external_base_url) \
            if "CDS_EXTERNAL_BASE_URL" not in os.environ else settings
    proc = None
    if args.profile == "demo" and not args.no_fhir:
        url = embedded_fhir.base_url(args.fhir_port)
        if embedded_fhir.is_up(url):
            print(f"Embedded FHIR server already running at {url}", flush=True)
        else:
            print(f"Starting the embedded FHIR server at {url} ...", flush=True)
            proc = embedded_fhir.start(settings.var_dir, args.fhir_port)
            n = embedded_fhir.load_fixtures(url)
            print(f"Loaded {n} fixture patients.", flush=True)
        allow = tuple(dict.fromkeys(settings.fhir_allow + (url, url.replace("127.0.0.1", "localhost"))))
        settings = settings.with_overrides(fhir_allow=allow, embedded_fhir_url=url)
    app = create_app(settings)
    warm_up(app)
    print(f"anakinra-cds {__version__} ({settings.profile}) on http://{args.host}:{args.port}/cds-services", flush=True)
    def _stop(signum, frame):          # SIGTERM stops the service and its embedded FHIR server alike
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except Exception:
                proc.kill()
    return 0


def _fhir_server(args) -> int:
    url = embedded_fhir.base_url(args.port)
    proc = embedded_fhir.start(args.var_dir, args.port)
    n = embedded_fhir.load_fixtures(url)
    print(f"FHIR server at {url} with {n} fixture bundles (pid {proc.pid})", flush=True)
    if args.detach:
        Path(args.pid_file).write_text(str(proc.pid))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return 0


def _explain(args) -> int:
    path = Path(args.request)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        data = load_json(raw, 64)
        hook = data.get("hook") if isinstance(data, dict) else None
        service = next((s for s in SERVICES if s.hook == hook), None)
        if service is None:
            print(f"error: {path}: `hook` must be one of {', '.join(s.hook for s in SERVICES)}", file=sys.stderr)
            return 2
        req = parse_hook_request(data, service.hook)
    except RequestError as exc:
        print(f"error: {path}: {exc.message}", file=sys.stderr)
        return 2
    if not args.online:
        # Offline: never contact a FHIR server; what is not prefetched is unavailable.
        req = replace(req, fhir_server=None, access_token=None)
    now = datetime.fromisoformat(args.now).replace(tzinfo=timezone.utc) if args.now else datetime.now(timezone.utc)
    settings = demo_settings()
    try:
        result = run_hook(req, settings, now, b"explain-offline-key-not-for-storage", explain=True)
    except DataUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    doc = explanation(req, result)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(render_table(doc))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anakinra-cds", description="Anakinra (Kineret) coverage CDS Hooks service")
    p.add_argument("--version", action="version", version=f"anakinra-cds {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the service (demo configuration unless --profile production)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--profile", choices=("demo", "production"), default="demo")
    s.add_argument("--fhir-port", type=int, default=8913, help="port of the embedded demo FHIR server")
    s.add_argument("--no-fhir", action="store_true", help="do not start the embedded FHIR server")
    s.set_defaults(func=_serve)

    f = sub.add_parser("fhir-server", help="run only the embedded FHIR server, loaded with the fixture patients")
    f.add_argument("--port", type=int, default=8913)
    f.add_argument("--var-dir", default="var")
    f.add_argument("--detach", action="store_true", help="start it and return (writes --pid-file)")
    f.add_argument("--pid-file", default="var/fhir-server.pid")
    f.set_defaults(func=_fhir_server)

    e = sub.add_parser("explain", help="explain the decision for a CDS Hooks request file (offline)")
    e.add_argument("request", help="a CDS Hooks request JSON file")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--now", help="evaluate as of this date (YYYY-MM-DD) when the order has no authoredOn")
    e.add_argument("--online", action="store_true", help="allow fetching from the request's fhirServer")
    e.set_defaults(func=_explain)

    store_commands.add_subcommands(sub, get_settings=from_env)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:          # ConfigError, HashKeyError, a bad DATABASE_URL ...
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
