"""Boxed expressions as one FEEL value: literal expressions, contexts (entries read the entries before them) and
invocations, nested in one another; a decision table, relation, list or function definition inside one is refused
with its id. A context whose last entry has no variable is that entry's value; otherwise it is a record of its
entries, as FEEL defines a context.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from importers.dmn_ledger import Ledger, Refused, local
from importers.dmn_types import ItemTypes
from importers.feel import NULL, FeelRefused, Function, Kind, Tr, describe, kind_of, translate
from rules.emit import identifier

Scope = dict[str, tuple[str, Any]]
# DMN 1.5's boxed conditional, iterators and filter: their parts, and the FEEL they stand for
AS_FEEL = {
    "conditional": (("if", "then", "else"), "if ({0}) then ({1}) else ({2})"),
    "for": (("in", "return"), "for {var} in ({0}) return ({1})"),
    "some": (("in", "satisfies"), "some {var} in ({0}) satisfies ({1})"),
    "every": (("in", "satisfies"), "every {var} in ({0}) satisfies ({1})"),
    "filter": (("in", "match"), "({0})[{1}]"),
}


@dataclass
class Boxed:
    """What translating a boxed expression needs from the model's conversion."""

    ns: str
    ledger: Ledger
    types: ItemTypes
    text_of: Callable[[ET.Element], str]  # a literal expression's FEEL text, recorded as converted
    invoke: Callable[[ET.Element, Scope, dict[str, Function]], Tr]  # an invocation, inlined

    def value(self, element: ET.Element, scope: Scope, functions: dict[str, Function]) -> Tr:
        kind = local(element)
        if kind == "literalExpression":
            text = self.text_of(element)
            try:
                return translate(text, scope, functions)
            except FeelRefused as exc:
                raise Refused(element, f"FEEL {text!r}: {exc}") from None
        if kind == "context":
            return self.context(element, scope, functions)
        if kind == "invocation":
            try:
                return self.invoke(element, scope, functions)
            except FeelRefused as exc:
                raise Refused(element, f"an invocation: {exc}") from None
        if kind in AS_FEEL:
            text = self.as_feel(element)
            try:
                return translate(text, scope, functions)
            except FeelRefused as exc:
                raise Refused(element, f"a {kind} as FEEL {text!r}: {exc}") from None
        raise Refused(element, f"a {kind} is not converted")

    def as_feel(self, element: ET.Element) -> str:
        """A boxed conditional, iterator or filter whose parts are literal expressions, as the FEEL it stands for."""
        kind = local(element)
        parts, template = AS_FEEL[kind]
        texts = []
        for part in parts:
            holder = element.find(f"{self.ns}{part}")
            inner = list(holder) if holder is not None else []
            if len(inner) != 1 or local(inner[0]) != "literalExpression":
                raise Refused(element, f"a {kind} whose {part} is not one literal expression is not converted")
            texts.append(self.text_of(inner[0]))
            self.ledger.take(holder)
        variable = element.get("iteratorVariable", "")
        if "{var}" in template and not re.fullmatch(r"[^\W\d][\w']*", variable):
            raise Refused(element, f"a {kind} over the variable {variable!r} is not converted (not a plain name)")
        self.ledger.take(element)
        return template.format(*texts, var=variable)

    def context(self, element: ET.Element, scope: Scope, functions: dict[str, Function]) -> Tr:
        entries: dict[str, Tr] = {}
        inner = dict(scope)
        items = element.findall(f"{self.ns}contextEntry")
        for k, entry in enumerate(items):
            variable = entry.find(f"{self.ns}variable")
            values = [child for child in entry if local(child) != "variable"]
            if len(values) != 1:
                raise Refused(entry, "a context entry with no value")
            value = self.value(values[0], inner, functions)
            self.ledger.take(entry, variable)
            if variable is None:
                if k != len(items) - 1:
                    raise Refused(entry, "a context entry with no variable that is not the last")
                return value
            name = variable.get("name", "")
            declared = self.declared(variable.get("typeRef"), entry)
            if declared is not None and not fits(declared, value.kind):
                raise Refused(entry, f"entry {name!r} is a {describe(value.kind)}, declared a {variable.get('typeRef')}")
            if identifier(name) in entries:
                raise Refused(entry, f"the entry {name!r} is written twice")
            entries[identifier(name)] = value
            inner[name] = (f"({value.text})", value.kind)
        self.ledger.take(element)
        if not entries:
            raise Refused(element, "an empty context is not converted")
        text = "{" + ", ".join(f"{k}: {v.text}" for k, v in entries.items()) + "}"
        return Tr(text, ("record", tuple((k, v.kind) for k, v in entries.items())))

    def declared(self, type_ref: str | None, where: ET.Element) -> Kind | None:
        if not type_ref or type_ref.rsplit(":", 1)[-1] == "Any":
            return None
        try:
            return kind_of(self.types.spec(type_ref))
        except Refused as exc:
            raise Refused(where, exc.reason) from None


def fits(declared: Kind, kind: Kind) -> bool:
    """Whether a value of ``kind`` is of the ``declared`` kind as it is (records by their fields, in any order)."""
    if kind in (NULL, declared):
        return True
    if isinstance(declared, tuple) and isinstance(kind, tuple) and declared[0] == kind[0]:
        if declared[0] == "list":
            return fits(declared[1], kind[1])
        fields = dict(kind[1])
        wanted = dict(declared[1])
        return fields.keys() == wanted.keys() and all(fits(wanted[n], fields[n]) for n in wanted)
    return False
