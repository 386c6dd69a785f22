"""WSGI entry point for gunicorn (production profile unless CDS_PROFILE says otherwise).

    gunicorn -w 2 --preload -b 0.0.0.0:8080 cds_service.wsgi:app
"""

from __future__ import annotations

from .app import create_app, warm_up
from .config import from_env
from .log_setup import configure

_settings = from_env()
configure(_settings.log_level)
app = create_app(_settings)
warm_up(app)
