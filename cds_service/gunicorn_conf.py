"""gunicorn settings the service is documented with: `gunicorn -c python:cds_service.gunicorn_conf
cds_service.wsgi:app` (the Dockerfile's command). Anything given on the command line overrides these.

The access log never writes a query string or a Referer: a token sent in the URL (refused by the service,
which reads credentials only from the Authorization header) would otherwise sit in the log, replayable until it
expires, and a query could carry patient identifiers. `%(U)s` is the path without the query."""

bind = "0.0.0.0:8080"
workers = 2
preload_app = True
timeout = 30
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
