"""WSGI entry point for gunicorn (production profile unless CDS_PROFILE says otherwise).

    gunicorn -w 2 --preload -b 0.0.0.0:8080 cds_service.wsgi:app
"""

from __future__ import annotations

import gc
import sys

from .app import create_app, warm_up
from .config import ConfigError, from_env
from .log_setup import configure

YOUNG_GENERATION_THRESHOLD = 10_000

try:
    _settings = from_env()
except ConfigError as exc:
    sys.exit(f"anakinra-cds: configuration error: {exc}")
configure(_settings.log_level)
app = create_app(_settings)
warm_up(app)
# Everything loaded so far (modules, policy, value sets, validators) lives as long as the process:
# keep it out of the cyclic collector's full passes (each scanned ~90k objects, 0.25 ms per call
# on average, measured with benchmarks/) and, under --preload, out of copy-on-write in the workers.
gc.freeze()
# A hook call allocates a few thousand containers (the parsed request, the facts, the clause tree) and
# frees them by reference counting when it answers. At Python's default young-generation threshold
# (700) the collector ran about twice per call, scanning objects that were about to be freed anyway
# (~2.5% of a call's CPU, measured in process). Above what one call keeps alive at once it runs
# every few thousand calls instead. Cyclic garbage is rare here (werkzeug's URL matcher leaves ~8
# objects per call), so what waits for a collection stays in the kilobytes.
gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
