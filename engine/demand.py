"""Which outputs an evaluation may leave out, and so which outputs of its steps a flow reads.

A replay compares a handful of outputs per order; building the rest (every priced line, the
allocation plan) is a fifth of its time. An output may be left out only when computing it
cannot fail (``cannot_fail``: no division, rounding or conversion), is never null where it
is required, and is not rounded. So an evaluation that leaves outputs out raises
exactly when the full one does, with the same error, and agrees on every output it keeps.
"""

from __future__ import annotations

from rules import syntax as s
from rules.functions import FUNCTIONS
from rules.input_types import INPUT_TYPES
from rules.ir import FieldDef, PackIR

Wanted = frozenset[str] | None  # None: every output


_NODES = (s.Name, s.Member, s.Literal, s.Unary, s.Binary, s.Conditional, s.Call, s.Record, s.ListOf)


def cannot_fail(node: s.Node) -> bool:
    """Whether evaluating ``node`` can raise: reads, comparisons, arithmetic without division, lookups, aggregations.

    Arithmetic of values a pack can hold stays far inside the decimal context's exponent range,
    so only division (by zero), rounding, conversions and the other functions are refused.
    """
    for n in s.walk(node):
        if isinstance(n, s.Call):
            if not _call_cannot_fail(n):
                return False
        elif not isinstance(n, _NODES) or (isinstance(n, s.Binary) and n.op == "/"):
            return False
    return True


def _call_cannot_fail(call: s.Call) -> bool:
    """A lookup, or a function its record says cannot fail; an aggregation only over a projection (the form proven)."""
    resolved = call.resolved
    if isinstance(resolved, s.Lookup):
        return True
    function = FUNCTIONS[call.function]
    if isinstance(resolved, s.Projection):
        return not function.can_fail
    if call.function == "count":
        return True  # the length of a list (or of none: 0)
    return not function.can_fail and not function.aggregates


def can_leave_out(f: FieldDef) -> bool:
    if f.value is None:
        return False  # set by a table: free to keep, and the table runs anyway
    if f.value.type.nullable and not f.spec.optional:
        return False  # the required-output check can fail
    declared = INPUT_TYPES.get(f.spec.type)
    if declared is not None and declared.numeric:
        return False  # rounded or converted
    return cannot_fail(f.value)


def kept_outputs(pack: PackIR, wanted: Wanted) -> list[FieldDef]:
    """The outputs an evaluation for ``wanted`` computes, in declaration order."""
    if wanted is None:
        return list(pack.outputs)
    return [f for f in pack.outputs if f.name in wanted or not can_leave_out(f)]


def evaluated(pack: PackIR, outputs: list[FieldDef], skipped_rollups: frozenset[int] = frozenset()) -> list[s.Node]:
    """Every node an evaluation computing ``outputs`` evaluates, but the rollups skipped (by index)."""
    roots: list[s.Node] = [f.value for f in outputs if f.value is not None]
    roots += [d.expr for d in pack.derives] + [r.expr for i, r in enumerate(pack.rollups) if i not in skipped_rollups]
    for step in pack.steps:
        roots += [*step.inputs.values(), *([step.when] if step.when is not None else [])]
    for section in pack.sections:
        roots += [section.over, *(d.expr for d in [*section.derives, *section.after])]
        roots += [n for carry in section.carries for n in (carry.init, carry.next)]
    for table in pack.all_tables:
        roots += [c.expr for c in table.columns] + [n for row in table.rows for n in [*row.tests, *row.outputs, *row.reason_values]]
        roots += table.default or []
    return [n for root in roots for n in s.walk(root)]


def step_outputs(pack: PackIR, wanted: Wanted) -> list[Wanted]:
    """For each step of a flow, the outputs the flow reads of it when it computes ``kept_outputs``."""
    if wanted is None:
        return [None] * len(pack.steps)
    nodes = evaluated(pack, kept_outputs(pack, wanted))
    targets = {id(n.target) for n in nodes if isinstance(n, s.Member)}
    read: list[Wanted] = []
    for step in pack.steps:
        fields = {n.name for n in nodes if isinstance(n, s.Member) and isinstance(n.target, s.Name) and n.target.symbol is step.symbol}
        whole = any(isinstance(n, s.Name) and n.symbol is step.symbol and id(n) not in targets for n in nodes)
        read.append(None if whole else frozenset(fields))
    return read
