"""The baseline server: the floor the service is compared with.

Same stack as the service (Flask under gunicorn sync workers, `--preload`, orjson), and a handler
that does the least a CDS service can do: read the body, parse it as JSON, answer
`{"cards": []}`. No auth, no decision. The service's ratios to this server show what the
decision, the JWT check and the request validation cost on top of the HTTP stack.

    gunicorn -w 2 --preload -b 127.0.0.1:PORT benchmarks.baseline_app:app
"""

from __future__ import annotations

import orjson
from flask import Flask, Response, request

EMPTY_ANSWER = orjson.dumps({"cards": []})


def create_app() -> Flask:
    app = Flask("cds_baseline")

    @app.post("/cds-services/<service_id>")
    def call_service(service_id: str):
        try:
            data = orjson.loads(request.get_data(cache=False))
        except orjson.JSONDecodeError:
            return Response(b'{"error": "invalid JSON"}', status=400, mimetype="application/json")
        if not isinstance(data, dict):
            return Response(b'{"error": "not an object"}', status=400, mimetype="application/json")
        return Response(EMPTY_ANSWER, status=200, mimetype="application/json")

    return app


def warm_up(app: Flask) -> None:
    """The same warm-up idea as the service: one call through the app at import."""
    app.test_client().post("/cds-services/warm-up", data=b'{"hook": "order-sign"}', content_type="application/json")


app = create_app()
warm_up(app)
