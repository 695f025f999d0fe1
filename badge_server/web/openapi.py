"""The HTTP API's OpenAPI schema as the server really answers: every error in the error format.

FastAPI documents a 422 ``{"detail": [...]}`` for every route with parameters, but the server
answers a malformed request with 400 ``{"error": {"code", "message"}}`` (app.py), and every other
refusal in the same format. The schema says so, as each operation's ``default`` response; the
OAuth endpoints answer in OAuth's own error format (RFC 6749 section 5.2).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

OAUTH_PATHS = ("/token", "/userinfo")
# The HTTP API: what kiosks, apps and IT's scripts call. Pages (the console, the scanner page and
# its own JSON) are for browsers and are not in the schema.
API_PATHS = ("/api/", "/.well-known/", "/oidc/", "/healthz", *OAUTH_PATHS)
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Machine-readable: what the client shows or does."},
                "message": {"type": "string", "description": "What a person is told."},
            },
        }
    },
}
OAUTH_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """The schema, built once per app."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    schema["paths"] = {path: item for path, item in schema.get("paths", {}).items() if path.startswith(API_PATHS)}
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA
    schemas["OAuthError"] = OAUTH_ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        error = "OAuthError" if path in OAUTH_PATHS else "Error"
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses["default"] = {
                "description": "A refusal (4xx) or a failure (5xx), in the error format",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{error}"}}},
            }
    app.openapi_schema = schema
    return schema
