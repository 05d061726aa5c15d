"""Every stable code Arbiter reports about a pack or a decision, each declared once: its severity and what it means.

``arbiter check`` and the loaders report these codes as diagnostics; a decision that cannot
be made raises ``DecisionError`` with one of the decision codes (a pack's tests name them
under ``error:``). ``docs/diagnostics.md`` lists the same table; a test holds the two
together and finds every code the source reports here. Adding a code is one line below.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rules.records import by_name


class Severity(StrEnum):
    ERROR = "error"  # the pack is not served; `arbiter check` exits 1
    WARNING = "warning"  # reported, the pack is served


@dataclass(frozen=True)
class Code:
    name: str
    severity: Severity  # the default; a finding may be raised to error or lowered to warning where it says why
    doc: str


E, W = Severity.ERROR, Severity.WARNING


CODES: dict[str, Code] = by_name(
    # Reading the file.
    Code("unreadable", E, "the pack file cannot be read"),
    Code("encoding", E, "the pack file is not UTF-8"),
    Code("pack-too-large", E, "the pack file is over the size limit"),
    Code("empty-pack", E, "the file holds no pack"),
    Code("too-many-errors", E, "the pack has so many errors that the rest were not reported"),
    Code("yaml-syntax", E, "the YAML cannot be parsed here"),
    Code("yaml-alias", E, "an alias that refers to a node containing it"),
    Code("yaml-date", E, "a YAML date that is not a valid calendar date"),
    Code("yaml-duplicate-key", E, "a mapping has the same key twice"),
    Code("yaml-key", E, "a mapping key that is not a plain string"),
    Code("yaml-merge", E, "a '<<' merge of something other than a mapping or a list of mappings"),
    Code("yaml-number", E, "a number that is not a finite decimal"),
    Code("yaml-too-deep", E, "values nested more than 64 levels deep"),
    Code("number-too-long", E, "a number literal in an expression longer than 40 characters"),
    Code("pack-too-complex", E, "a pack Python cannot compile (an expression too long or too nested)"),
    Code("yaml-tag", E, "a YAML tag a pack may not use"),
    Code("yaml-too-large", E, "the document expands (through aliases) to too many values"),
    # The shape of the pack.
    Code("unknown-field", E, "a field the pack format does not have (with the closest one)"),
    Code("missing-field", E, "a required field is absent"),
    Code("invalid-value", E, "a field's value does not fit the pack format"),
    Code("invalid-field", E, "a field declaration that contradicts itself (bounds on a string, an enum without values)"),
    Code("version-mismatch", E, "the file name and the declared version differ"),
    Code("duplicate-version", E, "two files declare the same pack version"),
    Code("no-packs", E, "the folder holds no pack files"),
    Code("empty-window", E, "effective_to is not after effective_from"),
    Code("flow-without-steps", E, "a flow pack without steps"),
    Code("steps-in-decision", E, "steps in a decision pack"),
    # Data tables.
    Code("data-source", E, "a data table's rows or CSV file cannot be used"),
    Code("data-columns", E, "a CSV header that differs from the declared columns"),
    Code("data-row", E, "a data row with the wrong number of values"),
    Code("data-value", E, "a data value that is not of its column's type, outside its column's min and max, or empty "
                          "in a column that is not `optional`"),
    Code("reason-template", E, "a reason template with a stray brace or an empty '{}' ('{{' and '}}' are literal braces)"),
    Code("multi-hit-default", E, "a default on a collect, rule_order or output_order table, which gives [] when no row matches"),
    Code("param-value", E, "a parameter's value that is not of its declared type, or has more places than its scale"),
    Code("duplicate-key", E, "two data rows with the same key"),
    Code("data-numbering", E, "a numbered data column whose numbers for one key do not run 1, 2, ... without gaps"),
    # Names and expressions.
    Code("syntax", E, "an expression or cell that cannot be parsed"),
    Code("unsafe-expression", E, "an expression reaching outside the language (attributes, dunders, statements)"),
    Code("expression-too-long", E, "an expression over the length limit"),
    Code("expression-too-complex", E, "an expression nested beyond the limit"),
    Code("unknown-name", E, "a name nothing declares (with the closest one)"),
    Code("unknown-function", E, "a function the language does not have (with the closest one)"),
    Code("wrong-arguments", E, "a function called with the wrong number or form of arguments"),
    Code("type-mismatch", E, "a value of the wrong type for where it is used"),
    Code("unknown-enum-value", E, "a string an enum does not have (with the closest value)"),
    Code("reserved-name", E, "a name the language reserves"),
    Code("duplicate-name", E, "a name declared twice"),
    Code("unused-input", W, "an input nothing reads"),
    Code("unused-param", W, "a parameter nothing reads"),
    Code("unused-derived", W, "a derived value nothing reads"),
    Code("output-not-set", E, "an output no table, derived value or input sets"),
    # Decision tables.
    Code("duplicate-table-id", E, "two tables with one id"),
    Code("duplicate-row-id", E, "two rows with one id"),
    Code("unknown-column", E, "a row names a column its table does not have"),
    Code("missing-output", E, "a row or default that does not set every output column"),
    Code("empty-cell", E, "an empty cell (write - for anything, null for a missing value)"),
    Code("invalid-aggregation", E, "an aggregation on a policy other than collect, or over several outputs"),
    Code("missing-priority", E, "a priority or output_order table without an order of output values"),
    # Flows.
    Code("unknown-pack", E, "a step runs a pack the folder does not have"),
    Code("nested-flow", E, "a step runs another flow"),
    Code("unknown-step-input", E, "a step gives an input its pack does not declare"),
    Code("missing-step-input", E, "a step leaves out a required input of its pack"),
    Code("step-order", E, "a step reads a step that runs after it"),
    # Embedded tests.
    Code("duplicate-test", E, "two tests with one name"),
    Code("empty-test", E, "a test without expect, matched or error"),
    Code("test-outside-window", W, "a test's as_of is outside its version's effective window"),
    Code("unknown-input", E, "a test gives an input the pack does not declare"),
    Code("unknown-output", E, "a test expects an output the pack does not declare"),
    Code("unknown-table", E, "a test names a table the pack does not have"),
    Code("unknown-row", E, "a test names a row its table does not have"),
    # What `arbiter check` finds by analysis and search, each with a counterexample.
    Code("dead-row", E, "a row no input can reach: rows before it match everything it matches"),
    Code("unreachable-row", E, "a row whose conditions no input satisfies"),
    Code("unreached-row", W, "a row neither the analysis nor the search could reach"),
    Code("division-by-zero", W, "a division whose divisor can be 0 where it is computed: its value is then null"),
    Code("overlap", E, "two rows of a unique or any table match one input"),
    Code("gap", E, "no row matches some input (a warning when no required output depends on the table)"),
    Code("invariant-violated", E, "an input for which the decision breaks a declared invariant"),
    # Across versions, dates and packs.
    Code("version-never-runs", E, "newer versions take every date of this version's window"),
    Code("version-gap", E, "dates between a pack's versions on which none is effective: every decision there is refused"),
    Code("pin-outside-window", W, "a flow step pinned to a version on dates outside that version's effective window"),
    Code("retroactive-effective-date", W, "a version new in this change (against the git base) takes effect before today"),
    Code("step-contract", E, "on some dates of a flow's window a step runs a version whose inputs or outputs break the flow"),
    Code("code-not-produced", E, "a router's row tests a code no producer sets on those dates (a renamed code); joined by a vocabulary or a flow's wiring"),
    Code("code-not-routed", E, "a producer sets a code that no row of a router tests for (a row ignoring the code, or a default, does not route it)"),
    Code("code-not-in-vocabulary", E, "a field naming a vocabulary sets or tests a code vocabulary.yaml does not declare; both places named"),
    Code("unknown-vocabulary", E, "a field names a vocabulary that vocabulary.yaml does not declare (or there is no vocabulary.yaml)"),
    Code("vocabulary-mismatch", E, "a flow hands a field of one vocabulary to a step input of another"),
    Code("vocabulary-invalid", E, "vocabulary.yaml is not a mapping of vocabularies, each with a description and codes with descriptions"),
    Code("vocabulary-code-unused", W, "a declared code no version of any pack sets: stale after a rename"),
    Code("step-version-unused", W, "on some dates a flow runs an older step version than the one it was written against"),
    # Decisions: DecisionError codes, also expected by a pack test's `error:`.
    Code("unique-violated", E, "several rows of a unique table matched"),
    Code("any-conflict", E, "rows of an any table matched with different outputs"),
    Code("output-missing", E, "no row matched and no value was computed for a required output"),
    Code("arithmetic", E, "arithmetic outside the decimal context's range"),
    Code("output-out-of-range", E, "a whole-number output outside its declared range or 64 bits"),
    Code("date-out-of-range", E, "date arithmetic left the calendar"),
    Code("undefined-temporal", E, "a local time or date and time compared with one with an offset, or two within one second ordered"),
    Code("unsupported-value", E, "a valid FEEL time, date and time or duration Arbiter cannot hold exactly (a year past 9999)"),
    Code("step-input", E, "a flow step gave its pack an input that pack refuses"),
    Code("flow-unbound", E, "a flow evaluated outside a pack set, with no steps to run"),
    Code("backend-failed", E, "the durable_rules backend failed repeatedly; restart the worker"),
)


def default_severity(code: str) -> str:
    """The severity a code has unless its finding says otherwise; an undeclared code is an error."""
    found = CODES.get(code)
    return found.severity.value if found is not None else Severity.ERROR.value
