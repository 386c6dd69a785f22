"""WSGI entry point for gunicorn (production profile unless CDS_PROFILE says otherwise).

gunicorn -w 2 --preload -b 0.0.0.0:8080 cds_service.wsgi:app
"""

from __future__ import annotations

import gc
import sys

from .app import create_app, warm_up
from .config import ConfigError, from_env
from .log_setup import configure

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
# The young generation is collected after 10,000 more container objects than were freed, not 700.
# A hook call holds its parsed request and facts until it answers (about 2,000 to 3,000 containers
# for a 69-resource chart, net) and frees them by reference counting when it returns. At 700, the
# collector ran about two young passes per call over those live objects and a full pass every
# few hundred calls, for nothing to free: 0.1 ms of each call's 2.6 ms of CPU in a gunicorn worker
# (timed with gc.callbacks under the load benchmark); with 10,000 a worker ran none. Cyclic
# garbage (rare on the hook path) still goes within 10,000 objects.
YOUNG_THRESHOLD = 10_000
gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
