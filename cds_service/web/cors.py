"""CORS on every endpoint; preflight never needs auth; Chrome's Private Network Access preflight answered."""

from __future__ import annotations

from flask import Flask, Response, request

ALLOW_HEADERS = "Authorization, Content-Type, Accept"
ALLOW_METHODS = "GET, POST, OPTIONS"


def install(app: Flask) -> None:
    @app.before_request
    def _preflight():
        if request.method == "OPTIONS":
            return Response(status=204)
        return None

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        resp.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        resp.headers["Access-Control-Max-Age"] = "600"
        if request.headers.get("Access-Control-Request-Private-Network") == "true":
            resp.headers["Access-Control-Allow-Private-Network"] = "true"
        return resp
