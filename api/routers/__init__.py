"""The service's HTTP routes, one module per group: decisions, packs, operations.

Each module's ``router(service)`` returns an ``APIRouter`` whose routes close over the
service; ``api.app.create_app`` includes them in this order, which is the order of the
OpenAPI document's paths.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from engine import jsonio


def respond(body: dict[str, Any], status: int = 200) -> Response:
    """A JSON answer written by ``engine.jsonio``: decimals as their exact text, never through float."""
    return Response(jsonio.dumps(body), status_code=status, media_type="application/json")
