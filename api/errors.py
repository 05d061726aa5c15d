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


class UnsupportedMediaType(ArbiterError):
    """The body is declared as something other than JSON (``Content-Type``)."""

    code = "unsupported-media-type"


class VersionsNotApplicable(ArbiterError):
    """``versions=`` pins what the request's pack never runs: a pack that is not a flow, or not one of its steps."""

    code = "versions-not-applicable"


class ServiceUnavailable(ArbiterError):
    """The service cannot answer now but may soon: the decision log cannot be written (audit mode)."""

    code = "unavailable"


class HeaderTooLarge(ArbiterError):
    """The request head has more bytes or header fields than the server's limits (api.http_limits)."""

    code = "header-too-large"


class RequestTimeout(ArbiterError):
    """The request's head or body did not arrive in time, or the client left before it did."""

    code = "request-timeout"


class Overloaded(ServiceUnavailable):
    """This worker has no connection or request slot left (ARBITER_MAX_CONNECTIONS)."""

    code = "overloaded"
