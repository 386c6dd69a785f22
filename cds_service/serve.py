"""`anakinra-cds serve`: the service on gunicorn, the production server, run in-process, with the
embedded demo FHIR server beside it in the demo configuration.

gunicorn takes its settings from `cds_service.gunicorn_conf` (the Dockerfile's `-c
python:cds_service.gunicorn_conf`), with the address from `--host/--port`; the app is the one
`create_app` builds here, warmed up before the workers fork. SIGTERM or SIGINT stops gunicorn (its
own graceful stop) and then the embedded FHIR server this command started.

Without sekmet-fhir (the `[demo]` extra) the service still starts and answers: a request whose
prefetch holds what the service needs is decided (the CDS Hooks Sandbox sends a full prefetch);
one line says what is missing and how to add it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from typing import Any

from gunicorn.app.base import BaseApplication

from . import __version__, embedded_fhir, gunicorn_conf
from .app import create_app, warm_up
from .config import Settings, demo_settings, from_env
from .log_setup import configure

# The settings of cds_service.gunicorn_conf that `serve` passes on (bind comes from --host/--port).
GUNICORN_SETTINGS = ("workers", "preload_app", "timeout", "accesslog", "access_log_format", "logger_class")
MISSING_FHIR_SERVER = (
    "Embedded FHIR server not started: sekmet-fhir is not installed (add it with: "
    "pip install 'anakinra-cds[demo]'); requests with a full prefetch are still decided."
)


class InProcessGunicorn(BaseApplication):
    """gunicorn serving an app object built in this process (no import string, no config file)."""

    def __init__(self, app, options: dict[str, Any]):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # a setting this gunicorn version does not know is skipped
                self.cfg.set(key, value)

    def load(self):
        return self.application


def gunicorn_options(host: str, port: int) -> dict[str, Any]:
    options = {name: getattr(gunicorn_conf, name) for name in GUNICORN_SETTINGS}
    options["bind"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    # gunicorn >= 27 opens a control socket in ~/.gunicorn by default: one per user, so a second
    # `serve` (or a test) would take it over. The demo needs none.
    options["control_socket_disable"] = True
    return options


def demo_service_settings(host: str, port: int) -> Settings:
    settings = from_env(profile="demo")
    if "CDS_EXTERNAL_BASE_URL" not in os.environ:
        settings = settings.with_overrides(external_base_url=demo_settings(host, port).external_base_url)
    return settings


def start_embedded_fhir(settings: Settings, fhir_port: int) -> tuple[Settings, subprocess.Popen | None]:
    """Start (or find) the embedded FHIR server, load the charts and put it on the allow-list.
    Returns the settings to serve with and the process to stop at the end (None if not started here)."""
    url = embedded_fhir.base_url(fhir_port)
    if embedded_fhir.is_up(url):
        print(f"Embedded FHIR server already running at {url} (charts not reloaded).", flush=True)
    elif not embedded_fhir.is_installed():
        print(MISSING_FHIR_SERVER, flush=True)
        return settings, None
    else:
        print(f"Starting the embedded FHIR server at {url} ...", flush=True)
        proc = embedded_fhir.start(settings.var_dir, fhir_port)
        try:
            loaded = embedded_fhir.load_charts(url)
        except BaseException:
            stop_process(proc)
            raise
        print(f"Loaded {loaded.summary()}.", flush=True)
        return _allow(settings, url), proc
    return _allow(settings, url), None


def _allow(settings: Settings, url: str) -> Settings:
    allow = tuple(dict.fromkeys((*settings.fhir_allow, url, url.replace("127.0.0.1", "localhost"))))
    return settings.with_overrides(fhir_allow=allow, embedded_fhir_url=url)


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(
    host: str, port: int, profile: str = "demo", fhir_port: int = embedded_fhir.DEFAULT_PORT, no_fhir: bool = False
) -> int:
    configure("INFO")
    logging.getLogger("gunicorn.error").setLevel("INFO")
    signal.signal(signal.SIGTERM, _interrupt)  # until gunicorn installs its own handlers
    settings = from_env(profile="production") if profile == "production" else demo_service_settings(host, port)
    proc = None
    if settings.is_demo and not no_fhir:
        settings, proc = start_embedded_fhir(settings, fhir_port)
    master = os.getpid()
    try:
        app = create_app(settings)
        warm_up(app)
        print(f"anakinra-cds {__version__} ({settings.profile}) on http://{host}:{port}/cds-services", flush=True)
        InProcessGunicorn(app, gunicorn_options(host, port)).run()
    except SystemExit as exc:  # gunicorn's master exits this way after SIGTERM / SIGINT
        if os.getpid() != master:  # a worker's exit: leave it to gunicorn's own handling
            raise
        return exc.code if isinstance(exc.code, int) else 0
    finally:
        # A worker leaves gunicorn through here too (it is a fork of this process): only the master
        # stops the FHIR server.
        if proc is not None and os.getpid() == master:
            stop_process(proc)
    return 0
