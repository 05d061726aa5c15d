"""DMN item definitions as pack field types: records, lists and allowed values, nested ones included.

FEEL's number, string, boolean and date map to decimal, string, boolean and date, and its
time, date and time and durations to the pack types of rules.temporal; an item
definition with components is an object (its components are its fields), ``isCollection``
makes a list of it, and ``allowedValues`` of strings make an enum (a list's elements are
strings: their allowed values are not checked). Every value may be null
in FEEL, so every field is optional. What has no pack type (lists of lists, ranges other
than a closed interval) is refused with the definition's name.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import Any

from importers.dmn_ledger import Ledger, Refused
from rules.emit import identifier

PRIMITIVES = {"number": "decimal", "string": "string", "boolean": "boolean", "date": "date", "time": "time",
              "dateTime": "date_time", "date and time": "date_time", "dayTimeDuration": "days_time_duration",
              "days and time duration": "days_time_duration", "yearMonthDuration": "years_months_duration",
              "years and months duration": "years_months_duration"}


def primitive(type_ref: str) -> str | None:
    """The pack kind of a FEEL built-in type name, written bare or with a prefix (``feel:number``)."""
    return PRIMITIVES.get(type_ref) or PRIMITIVES.get(type_ref.rsplit(":", 1)[-1] if ":" in type_ref else "")


_STRING = r'"((?:[^"\\]|\\.)*)"'


def strings(text: str) -> list[str] | None:
    """The strings of a FEEL list of string literals (``"A", "B"``), or None when it is anything else."""
    if not re.fullmatch(rf"\s*{_STRING}(\s*,\s*{_STRING})*\s*", text):
        return None
    return list(re.findall(_STRING, text))


class ItemTypes:
    """The item definitions of one model, converted on demand (each once) and recorded in the ledger."""

    def __init__(self, root: ET.Element, ns: str, ledger: Ledger) -> None:
        self.ns = ns
        self.ledger = ledger
        self.definitions = {d.get("name", ""): d for d in root.findall(f"{ns}itemDefinition")}
        self._specs: dict[str, dict[str, Any]] = {}
        self._refused: dict[str, str] = {}

    def convert_all(self) -> None:
        """Convert every item definition, so that one no decision uses is still converted or refused."""
        for name in self.definitions:
            with contextlib.suppress(Refused):
                self.spec(name)

    def spec(self, type_ref: str | None) -> dict[str, Any]:
        """The field spec of a typeRef (optional, as any FEEL value may be null); Refused if it has none."""
        if not type_ref:
            raise Refused(None, "no typeRef: the value's type is unknown")
        kind = primitive(type_ref)
        if kind is not None:
            return {"type": kind, "optional": True}
        name = type_ref.rsplit(":", 1)[-1] if type_ref not in self.definitions else type_ref
        if name not in self.definitions:
            raise Refused(None, f"type {type_ref!r} is not converted (no item definition of that name)")
        if name in self._refused:
            raise Refused(None, self._refused[name])
        if name not in self._specs:
            self._specs[name] = {}  # a definition that refers to itself is refused below
            try:
                self._specs[name] = self._definition(self.definitions[name], name)
            except Refused as exc:
                del self._specs[name]
                self._refused[name] = f"type {name!r}: {exc.reason}"
                self.ledger.refuse(self.definitions[name], exc.reason)
                raise Refused(None, self._refused[name]) from exc
        if not self._specs[name]:
            raise Refused(None, f"type {name!r} refers to itself")
        return self._specs[name]

    def _definition(self, element: ET.Element, name: str) -> dict[str, Any]:
        ns = self.ns
        if element.get("typeLanguage") or element.find(f"{ns}functionItem") is not None:
            raise Refused(element, "function types and other type languages are not converted")
        components = element.findall(f"{ns}itemComponent")
        type_ref = element.find(f"{ns}typeRef")
        if components:
            base: dict[str, Any] = {"type": "object", "optional": True,
                                    "fields": {identifier(c.get("name", "")): self._definition(c, c.get("name", ""))
                                               for c in components}}
        elif type_ref is not None and type_ref.text:
            base = dict(self.spec(type_ref.text.strip()))
        else:
            raise Refused(element, "neither a typeRef nor components")
        self.ledger.take(element, type_ref)
        allowed = element.find(f"{ns}allowedValues")
        if allowed is not None:
            base = self._allowed(base, allowed)
        if element.find(f"{ns}typeConstraint") is not None:
            raise Refused(element, "typeConstraint is not converted")
        if element.get("isCollection") == "true":
            base = _list_of(base)
        return base

    def _allowed(self, base: dict[str, Any], allowed: ET.Element) -> dict[str, Any]:
        text = (allowed.findtext(f"{self.ns}text") or "").strip()
        self.ledger.take_all(allowed)
        if base["type"] == "string" and (values := strings(text)) is not None:
            return {"type": "enum", "values": values, "optional": True}
        interval = re.fullmatch(r"\[\s*(-?[\d.]+)\s*\.\.\s*(-?[\d.]+)\s*\]", text)
        if base["type"] == "decimal" and interval:
            try:
                return {**base, "min": Decimal(interval[1]), "max": Decimal(interval[2])}
            except InvalidOperation:
                pass
        raise Refused(allowed, f"allowed values {text!r} are not converted (only string lists and closed number ranges)")


def _list_of(base: dict[str, Any]) -> dict[str, Any]:
    if base["type"] == "object":
        return {"type": "list", "items": base["fields"], "optional": True}
    if base["type"] == "list":
        raise Refused(None, "a list of lists is not converted")
    if base["type"] == "enum":  # a list's elements have no enum type: their allowed values are not checked
        return {"type": "list", "of": "string", "optional": True}
    return {"type": "list", "of": base["type"], "optional": True}
