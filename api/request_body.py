"""A decision request's body: its media type checked, its JSON read with every key once.

``engine.jsonio.loads`` keeps the last of two equal keys, as JSON parsers do; a request that
says ``"order_amount"`` twice would be decided on one of them silently. Here the parser
refuses it, and the slow path (taken only then) finds the key's JSON pointer for the 422.
"""

from __future__ import annotations

import json
from typing import Any

import jiter

from api.errors import UnsupportedMediaType
from rules.errors import FieldProblem, InputError, MalformedRequest

JSON_TYPES = ("application/json", "text/json")  # and any application/...+json


def check_media_type(content_type: str | None, content_encoding: str | None = None) -> None:
    """A body declared as something other than JSON in UTF-8, or compressed, is a 415; no declaration is read as JSON.

    The body is read as UTF-8 bytes: a latin-1 one would be read as other text, or refused as
    malformed JSON when it is gzip, never what the client meant.
    """
    if content_encoding is not None and content_encoding.strip().lower() not in ("", "identity"):
        raise UnsupportedMediaType(f"the body is encoded as {content_encoding.strip()!r}; send it uncompressed "
                                   "(Content-Encoding: identity)")
    if content_type is None:
        return
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if not (media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))):
        raise UnsupportedMediaType(f"the body is declared as {media or 'nothing'!r}; send it as application/json")
    if params:
        for param in params.split(";"):
            name, _, value = param.partition("=")
            charset = value.strip().strip('"').lower()
            if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
                raise UnsupportedMediaType(f"the body is declared as {charset!r} text; JSON is read as UTF-8 (RFC 8259)")


def loads(raw: bytes) -> Any:
    """``raw`` as JSON with exact decimals (as ``engine.jsonio.loads``), refusing a key repeated in one object."""
    try:
        return jiter.from_json(raw, float_mode="decimal", allow_inf_nan=False, catch_duplicate_keys=True)
    except ValueError as exc:
        if str(exc).startswith("Detected duplicate key"):
            raise _duplicate(raw, str(exc)) from None
        raise MalformedRequest(f"invalid JSON: {exc}") from None


class _Pairs(list[tuple[str, Any]]):
    """An object's members in order, duplicates kept (an array stays a plain list)."""


def _duplicate(raw: bytes, message: str) -> InputError:
    """The repeated key's problem at its JSON pointer; without one if the body cannot be walked (too deep)."""
    try:
        tree = json.loads(raw, object_pairs_hook=_Pairs, parse_int=str, parse_float=str, parse_constant=str)
        found = _first_repeat(tree, ())
    except (ValueError, RecursionError):
        found = None
    if found is None:
        return InputError([FieldProblem((), "duplicate-key", message)])
    return InputError([FieldProblem(found, "duplicate-key", "is given more than once in its object")])


def _first_repeat(value: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The path of the first key, in document order, that its object has already given."""
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, item in value:
            if key in seen:
                return (*path, key)
            found = _first_repeat(item, (*path, key))
            if found is not None:
                return found
            seen.add(key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_repeat(item, (*path, index))
            if found is not None:
                return found
    return None
