"""gunicorn settings the service is documented with: `gunicorn -c python:cds_service.gunicorn_conf
cds_service.wsgi:app` (the Dockerfile's command). Anything given on the command line overrides these.

The access log never writes a query string or a Referer: a token sent in the URL (refused by the service,
which reads credentials only from the Authorization header) would otherwise sit in the log, replayable until it
expires, and a query could carry patient identifiers. `%(U)s` is the path without the query. The documentation
form's signed link is a path (`/documentation/<token>`): the access log writes `/documentation/<link>` instead
(`RedactingLogger`)."""

import re

from gunicorn.glogging import Logger

FORM_LINK = re.compile(r"^(/documentation/)(?!static/)[^/]+")


def redact_path(path: str) -> str:
    """The request path as the access log writes it: a documentation form link's token left out."""
    return FORM_LINK.sub(r"\1<link>", path or "")


class RedactingLogger(Logger):
    """gunicorn's logger, with the form link's token left out of the access log's path."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms.get("U") or "")
        atoms["r"] = "-"  # the request line (with the path and query) is never written
        return atoms


bind = "0.0.0.0:8080"
workers = 2
preload_app = True
timeout = 30
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
logger_class = RedactingLogger
