"""The hit policies of a decision table, each declared once with what the rest of Arbiter asks of it.

The checker reads the properties (does it collect, does it rank rows, may it aggregate),
the analyses read ``overlap`` (what several matching rows mean), and the code generator
has one method per policy (``engine.codegen.POLICY_CODE``, checked complete at import).
``docs/expressions.md`` describes each; a test holds the two together.
"""

from __future__ import annotations

from enum import StrEnum


class HitPolicy(StrEnum):
    multi_hit: bool  # every matching row counts: the outputs are lists (or an aggregation of them)
    ranked: bool  # rows are ordered by the declared order of their output values
    overlap: str  # what two rows matching one input mean: "first-wins", "error", "must-agree" or "collected"
    doc: str

    def __new__(cls, value: str, multi_hit: bool, ranked: bool, overlap: str, doc: str) -> HitPolicy:
        member = str.__new__(cls, value)
        member._value_ = value
        member.multi_hit = multi_hit
        member.ranked = ranked
        member.overlap = overlap
        member.doc = doc
        return member

    FIRST = "first", False, False, "first-wins", "the first matching row, in table order"
    UNIQUE = "unique", False, False, "error", "the one matching row; more than one is a unique-violated error"
    PRIORITY = "priority", False, True, "first-wins", "the matching row whose outputs come first in the declared order"
    ANY = "any", False, False, "must-agree", "any matching row; rows that disagree are an any-conflict error"
    COLLECT = "collect", True, False, "collected", "every matching row in table order, or their aggregation"
    RULE_ORDER = "rule_order", True, False, "collected", "every matching row in table order"
    OUTPUT_ORDER = "output_order", True, True, "collected", "every matching row, sorted by the declared order of outputs"

    @property
    def aggregates(self) -> bool:
        """Whether ``aggregation: sum|min|max|count|list`` may fold its rows."""
        return self is HitPolicy.COLLECT
