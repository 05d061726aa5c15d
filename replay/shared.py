"""Steps both sides of a replay run with the same version on the same input, decided once per order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine.compiled import CompiledPack, Decision
from engine.demand import Wanted
from engine.pairing import PairedDecisions
from rules.errors import ArbiterError


class SharedSteps:
    """Within one order, a step both sides run with the same pack version on the same input is decided once.

    Evaluation is a pure function of (input, pack version, as_of), so sharing only saves time
    (allocation and routing are usually the same version on both sides). Lists and objects
    are matched by identity, which holds because both sides read one validated order; the
    memo keeps what it matched alive and is cleared before each order, so no id is reused.
    """

    def __init__(self) -> None:
        self.decisions: dict[tuple[str, Wanted], list[tuple[dt.date, dict[str, Any], Decision]]] = {}
        self.reused = 0
        self.sides: tuple[Any, Any] | None = None  # (baseline, candidate) SpecPacks whose step versions are paired
        self.partners: dict[str, CompiledPack | None] = {}
        self.paired = PairedDecisions(reasons=False)  # a replay reads no reasons

    def pair(self, baseline: Any, candidate: Any) -> None:
        """Decide each step the baseline runs together with the candidate's version of that pack (engine.pairing).

        The candidate's decision is kept for the same order's candidate side, which finds it as a
        shared step when it hands its version the same input; otherwise it is not used.
        """
        self.sides = (baseline, candidate)

    def clear(self) -> None:
        self.decisions.clear()

    def decide(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
               outputs: Wanted = None) -> Decision:
        key = (pack.digest, outputs)
        seen = self.decisions.get(key)
        if seen is None:
            seen = self.decisions[key] = []
        else:
            for seen_as_of, seen_values, decision in seen:
                if seen_as_of == as_of and (seen_values is values or _same_input(seen_values, values)):
                    self.reused += 1
                    return decision
        partner = self.partner(pack)  # KeptSteps pairs only while both sides are decided
        both = None if partner is None else self.fresh_pair(pack, partner, values, as_of, trusted, outputs)
        if both is None:
            decision = self.fresh(pack, values, as_of, trusted, outputs)
        else:
            decision = both[0]
            self.decisions.setdefault((partner.digest, outputs), []).append((as_of, values, both[1]))  # type: ignore[union-attr]
        seen.append((as_of, values, decision))
        return decision

    def partner(self, pack: CompiledPack) -> CompiledPack | None:
        """The candidate's version of a step pack the baseline runs as ``pack``, when the two differ."""
        if self.sides is None:
            return None
        found = self.partners.get(pack.digest, pack)
        if found is pack:
            try:
                other = self.sides[1].get(pack.name) if self.sides[0].get(pack.name) is pack else pack
            except ArbiterError:
                other = pack
            found = self.partners[pack.digest] = None if other.digest == pack.digest else other
        return found

    def fresh_pair(self, pack: CompiledPack, partner: CompiledPack, values: dict[str, Any], as_of: dt.date,
                   trusted: frozenset[str], outputs: Wanted) -> tuple[Decision, Decision] | None:
        """Both sides' versions of a step this order has not decided yet, by one function; None where they cannot be paired."""
        return self.paired.decide(pack, partner, values, as_of, trusted, outputs)

    def fresh(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
              outputs: Wanted) -> Decision:
        """A step this order has not decided yet (``replay.cache.KeptSteps`` may have it from an earlier replay)."""
        return pack.decide_step(values, as_of, trusted, outputs)


def _same_input(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for name, x in a.items():
        y = b[name]
        if x is y:
            continue
        if x.__class__ is not y.__class__ or isinstance(x, (dict, list)) or x != y:
            return False
        if isinstance(x, Decimal) and str(x) != str(y):  # 1.0 and 1.00 are equal but not the same input
            return False
    return True



