"""Errors only the HTTP service raises: a caller not allowed, a request too large, a service that cannot answer now.

They belong to the one hierarchy (``rules.errors.ArbiterError``), keep their stable codes, and
are mapped to statuses with every other error in ``api.problems``; they live here because
nothing below the transport can cause them.
"""

from __future__ import annotations

from rules.errors import ArbiterError


class AuthError(ArbiterError):
    code = "unauthorized"


class Forbidden(ArbiterError):
    code = "forbidden"


class RequestTooLarge(ArbiterError):
    code = "request-too-large"


class ServiceUnavailable(ArbiterError):
    """The service cannot answer now but may soon: the decision log cannot be written (audit mode)."""

    code = "unavailable"
