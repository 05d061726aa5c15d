"""Who may call: API keys on the decision routes, the admin token on reload.

Keys are compared in constant time; logs and the decision log name a caller by its key id
(``api.audit.key_id``), never by the key.
"""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request

from api.errors import AuthError, Forbidden
from api.service import Service
from rules.errors import FeatureDisabled

log = logging.getLogger("arbiter.api")


def caller(service: Service, request: Request) -> str | None:
    """The caller's key id, or None when the service has no keys (401 without a key, 403 with a wrong one)."""
    if not service.api_keys:
        return None
    header = request.headers.get("authorization", "")
    given = header[7:].encode() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "").encode()
    if not given:
        raise AuthError("an API key is required (Authorization: Bearer <key> or X-API-Key)")
    for key, ident in service.key_ids.items():
        if hmac.compare_digest(given, key):
            return ident
    raise Forbidden("the API key is not valid")


def require_admin(service: Service, request: Request) -> None:
    """The admin token, or the refusal (logged: an operator wants to see refused reloads)."""
    if service.admin_token is None:
        raise FeatureDisabled("admin routes are off: set ARBITER_ADMIN_TOKEN to enable them")
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        log.warning("admin reload refused: no token", extra={"outcome": "unauthorized"})
        raise AuthError("the admin token is required (Authorization: Bearer <token>)")
    if not hmac.compare_digest(header[7:].encode(), service.admin_token.encode()):
        log.warning("admin reload refused: wrong token", extra={"outcome": "forbidden"})
        raise Forbidden("the admin token is not valid")
