"""The JSON API's OpenAPI 3.1 description, built from the app's routes and served at
``GET /api/openapi.json``.

The paths and methods come from the routes themselves; what each operation takes and
answers comes from ``live.web.operations``. A route without an entry there (or an entry
without a route) fails ``tests/live/test_openapi.py``, which also runs schemathesis
against a running node: every answer must have the shape written here.

Every answer is JSON with ``"ok"``: ``true`` and the operation's fields on success, or the
shared ``Error`` (``live.errors``: ``{"ok": false, "error": {"code", "message", ...}}``)
for any refusal, whatever its status; the exports answer CSV or a workbook instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from importlib import metadata

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from live import sessions
from live.web import error_pages
from live.web.api import _Json
from live.web.operations import COMPONENTS, OPERATIONS
from live.web.schemas import (
    ANY,
    BINARY,
    ID,
    INT,
    JSON,
    TEXT,
    WHO,
    Access,
    Op,
    Schema,
    closed,
    obj,
    ref,
)
from rooms.errors import PUBLIC_FIELDS, ErrorCode

#: The path prefix of the JSON API.
PREFIX = "/api/"

#: The types of a refusal's public fields (``rooms.errors.PUBLIC_FIELDS``) where one is known.
_FIELD_TYPES = {"retry_after": INT, "attempts_left": INT, "word": TEXT}


def error_schema() -> Schema:
    """``live.errors``' refusal: a code a client branches on, a sentence in the request's
    language, and the public fields of a few refusals. The codes are ``ErrorCode``'s and
    those of HTTP errors (``live.web.error_pages``)."""
    codes = {str(c) for c in ErrorCode}
    codes |= {code for code, _ in error_pages.HTTP_ERRORS.values()}
    codes.add(error_pages.OTHER_ERROR[0])
    fields: dict[str, Schema] = {
        "code": {"type": "string", "enum": sorted(codes)},
        "message": {"type": "string", "minLength": 1},
        **{name: _FIELD_TYPES.get(name, ANY) for name in PUBLIC_FIELDS},
    }
    error = closed(obj("code", "message", **fields))
    return closed(obj("ok", "error", ok={"const": False}, error=error))


def _answer(op: Op) -> Schema:
    return closed(obj("ok", *op.answer, ok={"const": True}, **op.answer))


# --- the document ------------------------------------------------------------------------


def _openapi_path(path: str) -> str:
    """``/api/x/{id}/export.{fmt:str}`` -> ``/api/x/{id}/export.{fmt}``."""
    return re.sub(r"{([^}:]+)(:[^}]*)?}", r"{\1}", path)


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[tuple[str, str]]:
    """Every JSON API operation of ``routes``: (method, path as the route writes it)."""
    for route in routes:
        if isinstance(route, Route) and route.path.startswith(PREFIX):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, route.path


def _operation(method: str, path: str, op: Op) -> Schema:
    names = re.findall(r"{([^}:]+)", path)
    parameters = [
        {"name": n, "in": "path", "required": True, "schema": op.params.get(n, ID)} for n in names
    ]
    parameters += [{"name": n, "in": "query", "schema": s} for n, s in op.query.items()]
    if op.files:
        content = {kind: {"schema": BINARY} for kind in op.files}
    else:
        content = {JSON: {"schema": op.whole or _answer(op)}}
    out: Schema = {
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', _openapi_path(path))}",
        "summary": op.summary,
        "description": WHO[op.access],
        "tags": [path.removeprefix(PREFIX).split("/")[0].split(".")[0]],
        "parameters": parameters,
        "responses": {
            **{str(s): {"description": op.summary, "content": content} for s in op.status},
            "default": {"$ref": "#/components/responses/Refused"},
        },
    }
    if op.access is Access.PUBLIC:
        out["security"] = [{}, {"session": []}]
    if op.body is not None or op.uploads:
        bodies = {JSON: {"schema": op.body}} if op.body is not None else {}
        bodies.update({kind: {"schema": s} for kind, s in op.uploads.items()})
        out["requestBody"] = {"required": True, "content": bodies}
    return out


def _version() -> str:
    try:
        return metadata.version("mvoting")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def document(routes: Iterable[BaseRoute]) -> Schema:
    """The OpenAPI document of the JSON API among ``routes`` (``KeyError`` for a route
    without an entry in ``OPERATIONS``)."""
    paths: dict[str, Schema] = {}
    for method, path in api_routes(routes):
        described = _operation(method, path, OPERATIONS[method, path])
        paths.setdefault(_openapi_path(path), {})[method.lower()] = described
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mvoting",
            "version": _version(),
            "description": (
                "The JSON API of mvoting: hosts' rooms and questions, citizens' accounts, "
                "citywide polls, comments and moderation, rosters, lot drawings and "
                "notifications. Unsafe requests carry a JSON body (or, for an upload, the "
                "file) and are refused when a browser says they come from another origin; "
                "no CSRF token is needed."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {**COMPONENTS, "Error": error_schema()},
            "responses": {
                "Refused": {
                    "description": "A refusal: a short code and a sentence.",
                    "content": {JSON: {"schema": ref("Error")}},
                }
            },
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": sessions.COOKIE,
                    "description": (
                        "The signed session cookie that signing in as a host "
                        "(POST /api/session) or as a citizen (POST /api/citizens/session) sets."
                    ),
                }
            },
        },
        "security": [{"session": []}],
    }


async def describe(request: Request) -> Response:
    """``GET /api/openapi.json``: the document itself, not in the ``"ok"`` envelope."""
    return _Json(document(request.app.routes))


routes = [Route("/api/openapi.json", describe, methods=["GET"])]
