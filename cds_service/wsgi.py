"""WSGI entry point for gunicorn (production profile unless CDS_PROFILE says otherwise).

    gunicorn -w 2 --preload -b 0.0.0.0:8080 cds_service.wsgi:app
"""

from __future__ import annotations

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
