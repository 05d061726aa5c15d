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
    """The caller's key id, or None when the service has no keys.

    Every credential the request presents is checked, and none wins over another: a wrong key in
    either header is 403 whatever the other holds (a client sending a stale key beside a good one
    has a fault to see, and an attacker gains nothing by adding guesses). 401 without a key, or
    with credentials that cannot name one key: a header given twice, an empty key, a scheme other
    than Bearer, or the two headers naming two different keys.
    """
    if not service.api_keys:
        return None
    given = _presented(request)
    if not given:
        raise AuthError("an API key is required (Authorization: Bearer <key> or X-API-Key)")
    idents = [_ident(service, key) for key in given]
    if None in idents:
        raise Forbidden("the API key is not valid")
    if len(set(idents)) > 1:
        raise AuthError("X-API-Key and Authorization: Bearer name two different keys: send one key")
    return idents[0]


def _presented(request: Request) -> list[bytes]:
    """The keys the request presents, from X-API-Key and Authorization: Bearer, or AuthError for one it garbles."""
    keys: list[bytes] = []
    seen: set[bytes] = set()
    for name, value in request.scope["headers"]:
        if name not in (b"x-api-key", b"authorization"):
            continue
        label = "X-API-Key" if name == b"x-api-key" else "Authorization"
        if name in seen:
            raise AuthError(f"{label} given more than once: send one key")
        seen.add(name)
        if name == b"authorization":
            scheme, _, value = value.partition(b" ")
            if scheme.lower() != b"bearer":
                raise AuthError("Authorization must be 'Bearer <key>' (or send the key as X-API-Key)")
        key = value.strip(b" \t")  # the space around a value is HTTP's, not the key's: ARBITER_API_KEYS holds none
        if not key:
            raise AuthError(f"{label} holds an empty key")
        keys.append(key)
    return keys


def _ident(service: Service, given: bytes) -> str | None:
    for key, ident in service.key_ids.items():
        if hmac.compare_digest(given, key):
            return ident
    return None


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
