"""Counts of a replay, merged chunk by chunk, and the summary they add up to.

Money is kept per currency (the order's declared currency input) and never added across
currencies. Everything merges in input order, so the summary is the same whatever the workers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, _count_elements  # type: ignore[attr-defined]  # Counter.update's own counter, in C
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from hashlib import blake2b
from typing import Any

from engine import jsonio
from replay.attribution import Credit
from replay.decide import BOOKKEEPING, decided, differences, fired
from replay.kpis import Kpis, field_at
from replay.orders import Logged
from replay.specs import SpecPacks
from rules.errors import ArbiterError

SIDES = ("baseline", "candidate")
KINDS = ("decision", "money", "other")
EXAMPLES = 3


def _sides(factory: Any) -> Any:
    """A dataclass field holding one ``factory()`` per side (a field spec, not a value: RUF009 does not apply)."""
    return field(default_factory=lambda: {side: factory() for side in SIDES})


def _amount(value: Any) -> Decimal | None:
    return value if isinstance(value, Decimal) else Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class Cause:
    orders: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    transitions: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)
    price: dict[str, Decimal] = field(default_factory=dict)  # currency -> what the edit alone moved
    moved: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # transition -> currency -> baseline value
    examples: list[str] = field(default_factory=list)

    def merge(self, other: Cause) -> None:
        self.orders += other.orders
        for name in ("kinds", "transitions", "rows"):
            getattr(self, name).update(getattr(other, name))
        _add_into(self.price, other.price)
        for t, amounts in other.moved.items():
            _add_into(self.moved.setdefault(t, {}), amounts)
        self.examples += other.examples[:EXAMPLES - len(self.examples)]


def _add_into(target: dict[str, Decimal], other: dict[str, Decimal]) -> None:
    for currency, amount in other.items():
        target[currency] = target.get(currency, Decimal(0)) + amount


@dataclass
class Tally:
    orders: int = 0
    changed: int = 0
    mix: dict[str, Counter[str]] = _sides(Counter)  # noqa: RUF009
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: dict[str, Counter[str]] = _sides(Counter)  # noqa: RUF009
    invalid: list[dict[str, str]] = field(default_factory=list)
    # side -> table -> row -> how often it fired; rows are named table:row only for the report
    fired: dict[str, dict[str, Counter[str]]] = _sides(dict)  # noqa: RUF009
    fired_alike: dict[str, Counter[str]] = field(default_factory=dict)  # rows both sides fired alike, not yet in ``fired``
    change_rows: Counter[tuple[str, str]] = field(default_factory=Counter)  # (side it fired on only, row)
    changed_outputs: Counter[str] = field(default_factory=Counter)  # output paths, root and step.field (what_changed)
    # side -> the step versions an order ran (one tuple of (step, version) an order) -> orders
    steps: dict[str, Counter[tuple[tuple[str, str], ...]]] = _sides(Counter)  # noqa: RUF009
    # side -> the last order's step versions, their order and their key: built once for a run of orders with the same versions
    last_steps: dict[str, tuple[dict[str, str], tuple[str, ...], tuple[tuple[str, str], ...]]] = field(
        default_factory=dict, repr=False, compare=False)
    kinds: Counter[str] = field(default_factory=Counter)
    causes: dict[str, Cause] = field(default_factory=dict)
    totals: dict[str, dict[str, dict[str, Decimal]]] = _sides(dict)  # noqa: RUF009  # side -> currency -> decision -> value
    price_effect: dict[str, Decimal] = field(default_factory=dict)  # currency -> same decision, amounts moved
    decision_effect: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # transition -> currency -> value
    hold_codes: Counter[str] = field(default_factory=Counter)
    days: set[str] = field(default_factory=set)
    queue_days: dict[str, dict[str, Counter[str]]] = _sides(dict)  # noqa: RUF009  # side -> queue -> day -> items
    sla: dict[str, Counter[str]] = _sides(Counter)  # noqa: RUF009  # side -> queue -> SLA-hours
    approvals: dict[str, Counter[str]] = _sides(Counter)  # noqa: RUF009
    dimensions: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)  # dimension -> value -> kind -> orders
    logged: int = 0  # decision-log records replayed through the version each names
    reproduced: int = 0  # of those, outputs equal to what production answered, byte for byte
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # decision-log refusals, not replayed: "status code" -> records
    roots: dict[str, Counter[str]] = _sides(Counter)  # noqa: RUF009  # side -> pack@version that decided -> orders
    dropped: dict[str, Counter[str]] = _sides(Counter)  # noqa: RUF009  # side -> "pack@version field" -> orders decided without it
    # 8 bytes an order, a digest of its id: an id given twice is found without keeping the ids (replay.caveats.repeated)
    ids: bytearray = field(default_factory=bytearray)

    def merge(self, other: Tally) -> None:
        """Add another run's counts: merged in input order, chunk by chunk, the result equals one tally of all."""
        self.settle()
        other.settle()
        self.orders += other.orders
        self.changed += other.changed
        self.invalid += other.invalid
        self.logged += other.logged
        self.reproduced += other.reproduced
        self.mismatches += other.mismatches
        self.days |= other.days
        self.ids += other.ids
        _add_into(self.price_effect, other.price_effect)
        for name in ("transitions", "change_rows", "changed_outputs", "kinds", "hold_codes", "refused"):
            getattr(self, name).update(getattr(other, name))
        for t, amounts in other.decision_effect.items():
            _add_into(self.decision_effect.setdefault(t, {}), amounts)
        for cause, c in other.causes.items():
            self.causes.setdefault(cause, Cause()).merge(c)
        for dim, values in other.dimensions.items():
            mine = self.dimensions.setdefault(dim, {})
            for v, kinds in values.items():
                mine.setdefault(v, Counter()).update(kinds)
        for side in SIDES:
            for name in ("mix", "errors", "steps", "sla", "approvals", "roots", "dropped"):
                getattr(self, name)[side].update(getattr(other, name)[side])
            for table, rows in other.fired[side].items():
                self.fired[side].setdefault(table, Counter()).update(rows)
            for queue, days in other.queue_days[side].items():
                self.queue_days[side].setdefault(queue, Counter()).update(days)
            for currency, decisions in other.totals[side].items():
                _add_into(self.totals[side].setdefault(currency, {}), decisions)

    def versions(self, side: str) -> dict[str, int]:
        """How many orders ran each step@version on ``side``."""
        counts: Counter[str] = Counter()
        for steps, n in self.steps[side].items():
            for step, version in steps:
                counts[f"{step}@{version}"] += n
        return dict(sorted(counts.items()))

    def ran(self, baseline: str, candidate: str) -> None:
        """The pack@version each side decided one order with (a decision log mixes packs and versions)."""
        self.roots["baseline"][baseline] += 1
        self.roots["candidate"][candidate] += 1

    def order(self, order_id: str, as_of: str, value: Any, a: dict[str, Any], b: dict[str, Any], kpis: Kpis) -> bool:
        """Count one order's two outcomes in one pass over both; whether they differ.

        Rows both sides fired alike (most orders) are counted once, into ``fired_alike``, and
        reach each side's ``fired`` when the tally is settled (``merge`` settles what it adds).
        """
        self.orders += 1
        self.ids += blake2b(order_id.encode(), digest_size=8).digest()
        if as_of:
            self.days.add(as_of)
        alike = a["matched"] == b["matched"]
        if alike:
            _count_rows(self.fired_alike, a["matched"])
        currency = str(field_at(value, kpis.currency)) if kpis.currency else "-"
        for side, r in (("baseline", a), ("candidate", b)):
            decision = r["decision"]
            self.mix[side][decision] += 1
            if not alike:
                _count_rows(self.fired[side], r["matched"])
            if "dropped" in r:
                self.dropped[side].update(r["dropped"])
            steps = r.get("steps")
            if steps:  # counted as the whole set of versions: one count an order, named at the end
                last = self.last_steps.get(side)
                if last is None or last[0] != steps or last[1] != tuple(steps):  # most orders run the last one's versions
                    last = self.last_steps[side] = (dict(steps), tuple(steps), tuple(steps.items()))
                self.steps[side][last[2]] += 1
            if decision == "error":
                self.errors[side][r["error"]] += 1
                self.invalid.append({"order_id": order_id, "side": side, "error": r["error"], "detail": r.get("detail", "")})
            else:
                self._observe(side, r, decision, currency, as_of, kpis)
        self.transitions[(a["decision"], b["decision"])] += 1
        changed = not alike or not written_alike(a, b)
        if changed:
            self.changed += 1
            rows_a, rows_b = fired(a["matched"]).keys(), fired(b["matched"]).keys()
            self.change_rows.update(("baseline", r) for r in rows_a - rows_b)
            self.change_rows.update(("candidate", r) for r in rows_b - rows_a)
        return changed

    def _observe(self, side: str, r: dict[str, Any], decision: str, currency: str, as_of: str, kpis: Kpis) -> None:
        """Money per currency, queues and approvals of one side's decided outcome."""
        if kpis.money and (amount := _amount(r.get(kpis.money[0]))) is not None:
            decisions = self.totals[side].get(currency)
            if decisions is None:
                decisions = self.totals[side][currency] = {}
            decisions[decision] = decisions.get(decision, Decimal(0)) + amount
        items = r.get(kpis.queue_output) if kpis.queue_output else None
        if items:
            per_queue, sla = self.queue_days[side], self.sla[side]
            for item in items:
                queue = str(item.get(kpis.queue))
                per_queue.setdefault(queue, Counter())[as_of] += 1
                sla[queue] += int(item.get(kpis.sla_hours) or 0)
        level = r.get(kpis.approvals) if kpis.approvals else None
        if level is not None and level != "none":
            self.approvals[side][str(level)] += 1

    def settle(self) -> None:
        """Add the rows counted once for both sides to each side's ``fired``."""
        for table, rows in self.fired_alike.items():
            for side in SIDES:
                self.fired[side].setdefault(table, Counter()).update(rows)
        self.fired_alike.clear()

    def reproduce(self, order_id: str, logged: Logged, side: SpecPacks, value: Any, as_of: dt.date) -> None:
        """Whether the version a log record names still answers what production answered, byte for byte."""
        self.logged += 1
        try:
            pack = side.get(logged.pack, logged.version)
            output = pack.evaluate(pack.validate(value), as_of, pack_set=side).output
        except ArbiterError as exc:
            self.mismatches.append({"order_id": order_id, "version": f"{logged.pack}@{logged.version}", "differs": [exc.code],
                                    "detail": exc.message})
            return
        if jsonio.dumps(output) == jsonio.dumps(logged.output):
            self.reproduced += 1
        else:
            self.mismatches.append({"order_id": order_id, "version": f"{logged.pack}@{logged.version}",
                                    "differs": differences(logged.output, output, ""), "detail": ""})

    def explain(self, order_id: str, value: Any, a: dict[str, Any], b: dict[str, Any], kind: str,
                credits: list[Credit], kpis: Kpis) -> None:
        """One changed order: its kind, its money effect, its causes, its hold-code move and its breakdowns."""
        self.kinds[kind] += 1
        currency = str(field_at(value, kpis.currency)) if kpis.currency else "-"
        transition = f"{a['decision']} -> {b['decision']}"
        x = _amount(a.get(kpis.money[0])) if kpis.money else None
        y = _amount(b.get(kpis.money[0])) if kpis.money else None
        if kind == "money" and x is not None and y is not None:
            _add_into(self.price_effect, {currency: y - x})
        if kind == "decision" and x is not None:
            _add_into(self.decision_effect.setdefault(transition, {}), {currency: x})
        if kpis.hold_code and a.get(kpis.hold_code) != b.get(kpis.hold_code):
            self.hold_codes[f"{a.get(kpis.hold_code) or '(none)'} -> {b.get(kpis.hold_code) or '(none)'}"] += 1
        for credit in credits:
            cause = self.causes.setdefault(credit.cause, Cause())
            cause.orders += 1
            cause.kinds.update(credit.aspects)
            if "decision" in credit.aspects:
                cause.transitions[transition] += 1
                if x is not None:
                    _add_into(cause.moved.setdefault(transition, {}), {currency: x})
            cause.rows.update(credit.moves)
            if "money" in credit.aspects and kind != "decision" and isinstance(credit.price, Decimal) and credit.price:
                _add_into(cause.price, {currency: credit.price})
            if len(cause.examples) < EXAMPLES:
                cause.examples.append(order_id)
        for dim, path in kpis.dimensions.items():
            found = field_at(value, path)
            self.dimensions.setdefault(dim, {}).setdefault("(none)" if found is None else str(found), Counter())[kind] += 1


def _count_rows(counts: dict[str, Counter[str]], matched: dict[str, list[str]]) -> None:
    """Add how often each table's rows fired in one outcome."""
    for table, ids in matched.items():
        rows = counts.get(table)
        if rows is None:
            rows = counts[table] = Counter()
        if len(ids) == 1:  # most tables fire one row an order; Counter.update costs several times more
            rows[ids[0]] += 1
        else:  # a line-level table: what Counter.update does with a list, without its Mapping check
            _count_elements(rows, ids)


_PLAIN = (str, int, bool, type(None))  # equal values of one of these classes are written alike


def written_alike(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two outcomes' decided parts are written to the same JSON, mostly without writing them.

    ``1.0`` and ``1.00``, ``1`` and ``Decimal(1)``, are equal and written differently (or alike):
    only same-class plain values and decimals of the same text are settled here, the rest by writing.
    """
    if list(a) != list(b):  # another key, or bookkeeping elsewhere: written in full
        return bool(jsonio.dumps(decided(a)) == jsonio.dumps(decided(b)))
    for key, x in a.items():
        y = b[key]
        if x is y or key in BOOKKEEPING:
            continue
        kind = x.__class__
        if kind is y.__class__:
            if kind in _PLAIN:
                if x == y:
                    continue
                return False
            if kind is Decimal and str(x) == str(y):
                continue
            if kind is list and not x and not y:
                continue
        if jsonio.dumps(x) != jsonio.dumps(y):
            return False
    return True


def rate(n: int, total: int) -> Decimal:
    return (Decimal(n) / total * 100).quantize(Decimal("0.01"), ROUND_HALF_UP) if total else Decimal(0)
