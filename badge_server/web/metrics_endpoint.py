"""``GET /metrics`` for Prometheus: only with the bearer token the district set
(BADGE_METRICS_TOKEN_FILE); without one set, there is no such page."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from badge_server.metrics import ServerMetrics

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    expected: str | None = request.app.state.metrics_bearer
    if expected is None:
        raise HTTPException(404, "Not Found")
    given = request.headers.get("authorization", "")
    # Constant-time: the token is a password, and a byte-by-byte comparison tells how much matched.
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        raise HTTPException(401, "the metrics token is missing or wrong", headers={"WWW-Authenticate": "Bearer"})
    server_metrics: ServerMetrics = request.app.state.metrics
    return Response(server_metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
