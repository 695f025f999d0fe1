"""``/docs``: the HTTP API's documentation for IT, Swagger UI on this server's /openapi.json.

FastAPI's own /docs page loads Swagger UI from a CDN with an inline script; the pages' CSP
forbids both (and schools often cannot reach CDNs), so it showed a blank page. This one loads
the vendored copy and a script file.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from badge_server.web.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "docs/api.html", {})
