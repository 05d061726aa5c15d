"""The value types of the pack format, as the checker sees them."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Type:
    """A checked type. ``kind`` is one of number, string, boolean, date, list, object, null, or a TEMPORAL kind."""

    kind: str
    numeric: str | None = None  # integer | decimal | money, when kind == "number"
    nullable: bool = False
    values: tuple[str, ...] | None = None  # enum values, when kind == "string"
    item: Type | None = None  # when kind == "list"
    fields: tuple[tuple[str, Type], ...] | None = None  # when kind == "object" (or list item)

    def with_null(self, nullable: bool = True) -> Type:
        return self if self.nullable == nullable else replace(self, nullable=nullable)

    def field(self, name: str) -> Type | None:
        for field_name, field_type in self.fields or ():
            if field_name == name:
                return field_type
        return None

    def describe(self) -> str:
        if self.kind == "number":
            base = self.numeric or "number"
        elif self.kind == "string" and self.values is not None and len(self.values) == 1:
            base = f"the string {self.values[0]!r}"
        elif self.kind == "string" and self.values is not None:
            base = "enum(" + ", ".join(self.values) + ")"
        elif self.kind == "list" and self.item is not None:
            base = f"list of {self.item.describe()}"
        elif self.kind == "object" and self.fields is not None:
            base = "object {" + ", ".join(f"{name}: {t.describe()}" for name, t in self.fields) + "}"
        else:
            base = self.kind
        return base + (" or null" if self.nullable and self.kind != "null" else "")


INTEGER = Type("number", "integer")
DECIMAL = Type("number", "decimal")
STRING = Type("string")
BOOLEAN = Type("boolean")
DATE = Type("date")
NULL = Type("null", nullable=True)
TIME = Type("time")
DATE_TIME = Type("date_time")
DAYS_TIME = Type("days_time_duration")
YEARS_MONTHS = Type("years_months_duration")
# FEEL's time, date and time and durations (rules.temporal): ordered and equal within their own kind only
TEMPORAL = frozenset({TIME.kind, DATE_TIME.kind, DAYS_TIME.kind, YEARS_MONTHS.kind})
ORDERED = frozenset({"number", "string", "date", *TEMPORAL})


def number_result(a: Type, b: Type, op: str) -> Type:
    """Numeric type of ``a op b``: money is contagious, division leaves the integers."""
    if "money" in (a.numeric, b.numeric):
        kind = "money"
    elif op == "/" or "decimal" in (a.numeric, b.numeric):
        kind = "decimal"
    else:
        kind = "integer"
    return Type("number", kind, nullable=a.nullable or b.nullable)


def comparable(a: Type, b: Type) -> bool:
    """Whether ``<``/``>`` may compare values of these types."""
    if a.kind == "null" or b.kind == "null":
        return True
    return a.kind == b.kind and a.kind in ORDERED


def equatable(a: Type, b: Type) -> bool:
    """Whether ``=``/``!=`` may compare values of these types (null equals only null)."""
    if a.kind == "null" or b.kind == "null":
        return True
    return a.kind == b.kind and (a.kind in ORDERED or a.kind == "boolean")


def join(a: Type, b: Type) -> Type | None:
    """The common type of two branches (of ``if``, of a column's cells), or None."""
    if a.kind == "null":
        return b.with_null()
    if b.kind == "null":
        return a.with_null()
    if a.kind != b.kind:
        return None
    nullable = a.nullable or b.nullable
    if a.kind == "number":
        return number_result(a, b, "+").with_null(nullable)
    if a.kind == "string":
        values = tuple(sorted(set(a.values) | set(b.values))) if a.values is not None and b.values is not None else None
        return Type("string", values=values, nullable=nullable)
    if a.kind == "list" and b.item is not None and b.item.kind == "null":  # [] joins any list
        return a.with_null(nullable)
    if a.kind == "list" and a.item is not None and a.item.kind == "null":
        return b.with_null(nullable)
    if a.kind == "list" and a.item is not None and b.item is not None:
        item = join(a.item, b.item)  # ["a"] and ["b", "c"]: lists of strings
        return None if item is None else Type("list", item=item, nullable=nullable)
    if a.kind == "object" and a.fields is not None and b.fields is not None and [k for k, _ in a.fields] == [k for k, _ in b.fields]:
        # {band: "big"} and {band: "small"}: the same fields join field by field
        fields = [(k, join(ta, tb)) for (k, ta), (_, tb) in zip(a.fields, b.fields, strict=True)]
        if any(t is None for _, t in fields):
            return None
        return Type("object", fields=tuple((k, t) for k, t in fields if t is not None), nullable=nullable)
    if a.kind in ("list", "object"):
        return a.with_null(nullable) if a.with_null(False) == b.with_null(False) else None
    return a.with_null(nullable)

