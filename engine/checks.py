"""``arbiter check`` beyond compiling: dead rows, overlaps, gaps and broken invariants.

Tables whose columns are plain inputs with literal cells are decided exactly
(``rules.analysis``); every counterexample is then evaluated to confirm it. Other tables,
and invariants, are searched with hypothesis over the declared input schema: seeded with
the pack's own test inputs, derandomised, bounded in examples, shrunk. A search that finds
nothing proves nothing, and the messages say so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import time
from random import Random
from typing import Any

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky, NoSuchExample, Unsatisfiable

from engine import order_contract
from engine.codes import code_contracts
from engine.compiled import CompiledPack
from engine.contracts import flow_contracts
from engine.dates import never_running, pins_outside_window, retroactive, window_gaps
from engine.registry import PackSet
from engine.search import colliding_inputs, inputs_for, object_for, restricted, schema_of, shared_schema, simplest_value
from engine.testing import DEFAULT_TEST_DATE
from rules import solver
from rules.analysis import TableFinding, analysable, analyse_table, input_bounds, required_readers
from rules.errors import ArbiterError, DecisionError, Diagnostic, InputError, Position, ordered
from rules.ir import FieldShape, TableDef

SEARCH_EXAMPLES = 300  # one pass watches the searched tables and every invariant (keeps a full check under 10 s)
INVARIANT_EXAMPLES = 600  # to shrink a violation once found
SHRINK_SECONDS = 3.0  # of CPU per broken invariant (not wall: on a loaded machine it would shrink less): then the smallest found so far
SCALAR_KINDS = ("number", "string", "boolean", "date")


def _settings(examples: int, seed: int | None = None) -> settings:
    """Bounded and reproducible: derandomised, or seeded by ``seed`` (the same seed, the same inputs)."""
    return settings(max_examples=examples, derandomize=seed is None, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])


class PackChecks:
    def __init__(self, pack: CompiledPack, seed: int | None = None) -> None:
        self.pack = pack
        self.seed = seed
        self.ir = pack.ir
        self.as_of = self.ir.effective_from or DEFAULT_TEST_DATE
        self.diagnostics: list[Diagnostic] = []
        self.solver_times: dict[str, tuple[float, int, str]] = {}  # table -> (seconds, queries, why it fell back)

    def position(self, key: str) -> Position:
        return self.ir.positions.get(key, Position(1, 1))

    def add(self, key: str, code: str, message: str, severity: str, extra: dict[str, Any]) -> None:
        self.diagnostics.append(Diagnostic(self.ir.path, self.position(key), code, message, severity, extra))

    def run(self) -> list[Diagnostic]:
        watch = self.decide_all()
        if watch is not None:
            search([watch], self.seed)
        self.report_divisors()
        return self.diagnostics

    def decide_all(self) -> _Watch | None:
        """Report what is decided exactly; what the search must watch (the other tables, the invariants), if anything."""
        searched: list[TableDef] = []
        for table in self.ir.all_tables:
            findings = self.decide(table)
            if findings is None:
                searched.append(table)
                continue
            for finding in findings:
                self.report_exact(table, finding)
        return _Watch(self, searched) if searched or self.ir.invariants else None

    def report_divisors(self) -> None:
        """After the search: z3 answers by what it was asked before, so the order of questions stays the same."""
        for place, message, witness in solver.zero_divisors(self.ir, self.as_of):
            self.add(place, "division-by-zero", message, "warning", {"place": place, "counterexample": self.counterexample(witness)})

    def decide(self, table: TableDef) -> list[TableFinding] | None:
        """A table's findings decided exactly (z3, else intervals over literal cells); None: search it."""
        started = time.perf_counter()
        try:
            findings, queries = solver.analyse(self.ir, table, self.as_of)
        except (solver.Unsupported, solver.Unknown) as exc:
            self.solver_times[table.id] = (time.perf_counter() - started, 0, str(exc) or type(exc).__name__)
        else:
            self.solver_times[table.id] = (time.perf_counter() - started, queries, "")
            return findings
        plain = {f.name: f.type for f in self.ir.inputs if f.type.kind in SCALAR_KINDS}
        if not analysable(table, plain):
            return None
        bounds = input_bounds(self.ir)
        names = [c.expr.name for c in table.columns]  # type: ignore[attr-defined]
        return analyse_table(table, [plain[n] for n in names], [bounds.get(n) for n in names])

    # Exact findings, confirmed by evaluation.

    def evaluate(self, values: dict[str, Any]) -> tuple[dict[str, list[str]], DecisionError | None]:
        """Matched rows per table (as far as evaluation got) and the decision error, if any."""
        try:
            decision = self.pack.decide(values, self.as_of, trace=True)
        except DecisionError as exc:
            return self._partial_matches(values), exc
        return {t: v["matched"] for t, v in (decision.trace or {}).get("tables", {}).items()}, None

    def _partial_matches(self, values: dict[str, Any], as_of: dt.date | None = None) -> dict[str, list[str]]:
        """The rows each table matched before the evaluation failed (a flow runs its steps as it goes)."""
        day = as_of or self.as_of
        log: dict[str, Any] = {"derived": {}, "tables": {}}
        with contextlib.suppress(ArbiterError, ArithmeticError):
            steps = (self.pack._step_runner(day, {}, {}, [], None),) if self.ir.steps else ()
            self.pack._traced_function()(self.pack.validate(values), day, log, *steps)
        return {t: v["matched"] for t, v in log["tables"].items()}

    def counterexample(self, witness: dict[str, Any]) -> dict[str, Any]:
        """A full, valid input: the witness's values, the simplest valid value everywhere else."""
        return {f.name: _complete(f.spec, witness[f.name]) if f.name in witness else simplest_value(f.spec)
                for f in self.ir.inputs}

    def confirmed(self, finding: TableFinding, table: TableDef, example: dict[str, Any]) -> bool | str:
        """True when evaluating ``example`` shows the finding; the id of a table that fails before it gets there."""
        try:
            matched, error = self.evaluate(example)
        except ArbiterError:  # the engine refused the counterexample: it proves nothing
            return False
        rows = matched.get(table.id)
        if finding.code == "dead-row" and rows:
            return rows[0] in finding.rows[1:]
        if finding.code == "overlap" and error is not None and error.table == table.id:
            return error.code in ("unique-violated", "any-conflict")
        if finding.code == "gap" and (rows == [] or (error is not None and error.code == "output-missing")):
            return True
        if rows is None and error is not None and error.table is not None and error.table != table.id:
            return error.table
        return False

    def gap_severity(self, table: TableDef) -> str:
        """An error when a required output may read the table (its value: expression included)."""
        return "error" if required_readers(self.ir, table) else "warning"

    def report_exact(self, table: TableDef, finding: TableFinding) -> None:
        key = f"tables.{table.id}.{finding.rows[0]}" if finding.rows else f"tables.{table.id}"
        extra: dict[str, Any] = {"table": table.id, "rows": finding.rows, "method": "exact"}
        severity = finding.severity or (self.gap_severity(table) if finding.code == "gap" else "error")
        message = finding.message
        if finding.witness is not None:
            example = self.counterexample(finding.witness)
            shown = self.confirmed(finding, table, example)
            if shown is True:
                extra["counterexample"] = example
                extra["confirmed"] = True
            elif shown:  # exact, but this input stops at another table's own failure first
                extra["counterexample"] = example
                extra["confirmed"] = None
                extra["blocked_by"] = shown
                message += f" (evaluating the counterexample stops earlier, at table {shown!r})"
            else:  # never print an input the engine does not agree with
                extra["confirmed"] = False
                message += " (no counterexample: evaluating the one the analysis built did not show it)"
        self.add(key, finding.code, message, severity, extra)

    # Searched findings.

    def seeds(self) -> list[tuple[dict[str, Any], dt.date]]:
        """The pack's own test inputs, each with the date its test decides on."""
        out = []
        for test in self.ir.tests:
            try:
                out.append((self.pack.validate(test.input), test.as_of or self.as_of))
            except ArbiterError:
                continue
        return out

    def report_invariant(self, index: int, name: str, first: tuple[dict[str, Any], dt.date]) -> None:
        """Shrink a known violation to the simplest input that still breaks the invariant, within SHRINK_SECONDS.

        Past the budget every candidate counts as not violating, so the shrinker stops at once; the
        smallest violation seen so far is the counterexample (else the one the search found).
        """
        until = time.process_time() + SHRINK_SECONDS
        smallest: list[dict[str, Any]] = []

        def violates(values: dict[str, Any]) -> bool:
            if time.process_time() > until:
                raise _OutOfTime
            try:
                validated = self.pack.validate(values)
                decision = self.pack.evaluate(validated, self.as_of)
            except ArbiterError:
                return False
            if name not in self.pack.violated_invariants(validated, decision.output, self.as_of):
                return False
            smallest[:] = [values]  # the shrinker only tries simpler inputs than the last violation
            return True

        example, as_of = first  # the search space may not reproduce it: the input the search found is the counterexample
        with contextlib.suppress(NoSuchExample, Unsatisfiable, Flaky, _OutOfTime):
            find(inputs_for(self.ir), violates, settings=_settings(INVARIANT_EXAMPLES, self.seed),
                 random=None if self.seed is None else Random(self.seed))  # noqa: S311 (a reproducible search, not a secret)
        if smallest:
            example, as_of = smallest[0], self.as_of
        try:
            output: Any = self.pack.decide(example, as_of).output
        except ArbiterError as exc:
            output = {"error": exc.code}
        self.add(f"invariants.{index}", "invariant-violated",
                 f"invariant {name!r} does not hold for this input (shrunk counterexample below)", "error",
                 {"invariant": name, "method": "search", "counterexample": example, "as_of": as_of,
                  "output": output, "confirmed": True})


# the seed the search has drawn with since it was derandomised (the digest of its test function then):
# a version searched alone draws what it always drew
SEARCH_SEED = int("4f5e013ee13efa294cba7203944de113c5b56b955c7445a103661d483a0273434ff88acda3bb66af16bea2fbf15400d2", 16)


def search(watches: list[_Watch], seed: int | None = None) -> None:
    """One seeded pass of generated inputs, drawn once for ``watches`` (versions of one pack whose schemas
    agree), each version seeing the fields it declares: drawing, not evaluating, is most of a search's cost."""
    schema = shared_schema(w.schema for w in watches)
    assert schema is not None, "the versions searched together declare a field differently"
    for watch in watches:
        watch.observe_seeds()

    @given(values=object_for(schema))
    @_settings(SEARCH_EXAMPLES, SEARCH_SEED if seed is None else seed)
    def generated(values: dict[str, Any]) -> None:
        for watch in watches:
            watch.observe(order_contract.conform(watch.checks.ir, restricted(watch.schema, values)), watch.checks.as_of)

    hypothesis_seed(SEARCH_SEED if seed is None else seed)(generated)()
    for watch in watches:
        watch.report()


class _Watch:
    """What one version's search watches (the tables not decided exactly, every invariant), and what it saw."""

    def __init__(self, checks: PackChecks, tables: list[TableDef]) -> None:
        self.checks = checks
        self.pack = checks.pack
        self.tables = tables
        self.schema = schema_of(checks.ir)
        self.hit: dict[str, set[str]] = {t.id: set() for t in tables}
        self.found: dict[tuple[str, str], tuple[dict[str, Any], dt.date]] = {}
        self.broken: dict[str, tuple[dict[str, Any], dt.date]] = {}
        self.single_hit_gaps = {t.id for t in tables if not t.hit_policy.multi_hit
                                and t.default is None and not t.always_matches}
        self.seeded = 0

    def observe_seeds(self) -> None:
        """The pack's own tests, the inputs whose lists share every key, the solver's witnesses of broken invariants."""
        checks = self.checks
        seeds = checks.seeds() + [(values, checks.as_of) for values in colliding_inputs(checks.ir)]
        seeds += [(checks.counterexample(w), checks.as_of) for w in solver.invariant_witnesses(checks.ir, checks.as_of)]
        for seed, as_of in seeds:
            self.observe(seed, as_of)
        self.seeded = len(seeds)

    def observe(self, values: dict[str, Any], as_of: dt.date) -> None:
        try:
            validated = self.pack.validate(values)
            decision = self.pack.evaluate(validated, as_of, trace=True)
        except InputError:
            return  # the schema's strategy drew what validation refuses: not an input at all
        except DecisionError as exc:
            matched = self.checks._partial_matches(values, as_of)
            if exc.table in self.hit and exc.code in ("unique-violated", "any-conflict"):
                self.found.setdefault((exc.table, "overlap"), (values, as_of))
        else:
            matched = {t: v["matched"] for t, v in (decision.trace or {}).get("tables", {}).items()}
            for name in self.pack.violated_invariants(validated, decision.output, as_of):
                self.broken.setdefault(name, (values, as_of))
        for table_id, rows in matched.items():
            if table_id in self.hit:
                self.hit[table_id].update(rows)
                if not rows and table_id in self.single_hit_gaps:
                    self.found.setdefault((table_id, "gap"), (values, as_of))

    def report(self) -> None:
        checks = self.checks
        tried = SEARCH_EXAMPLES + self.seeded
        for (table_id, code), (example, as_of) in sorted(self.found.items(), key=lambda item: item[0]):
            table = next(t for t in self.tables if t.id == table_id)
            message = (f"no row of table {table_id!r} matches this input" if code == "gap"
                       else f"several rows of table {table_id!r} match this input, but the hit policy is {table.hit_policy}")
            severity = checks.gap_severity(table) if code == "gap" else "error"
            checks.add(f"tables.{table_id}", code, message + " (found by search)", severity,
                       {"table": table_id, "rows": [], "method": "search", "counterexample": example, "as_of": as_of,
                        "confirmed": True})
        for table in self.tables:
            for row in table.rows:
                if row.id not in self.hit[table.id]:
                    checks.add(f"tables.{table.id}.{row.id}", "unreached-row",
                               f"no input reached row {row.id!r} in {tried} tried (the pack's tests, inputs whose lists share keys, then generated): "
                               "a search, not a proof; its cells use expressions, so it cannot be decided exactly",
                               "warning", {"table": table.id, "rows": [row.id], "method": "search"})
        for inv in checks.ir.invariants:
            if inv.name in self.broken:
                checks.report_invariant(inv.index, inv.name, self.broken[inv.name])


class _OutOfTime(Exception):
    """The shrinking budget is spent: keep the smallest violation found so far."""


def _complete(spec: FieldShape, value: Any) -> Any:
    """``value`` with the fields a witness leaves out (of objects and list elements) at their simplest."""
    if isinstance(value, list) and spec.items is not None:
        return [_complete(FieldShape(type="object", fields=spec.items), v) for v in value]
    if isinstance(value, dict) and spec.fields is not None:
        return {name: _complete(sub, value[name]) if name in value else simplest_value(sub) for name, sub in spec.fields.items()}
    return value


def check_versions(packs: list[CompiledPack]) -> list[Diagnostic]:
    """The analysis of versions of one pack, searched together (``search_groups`` says which may be)."""
    checks = [PackChecks(pack) for pack in packs]
    watches = [watch for c in checks if (watch := c.decide_all()) is not None]
    if watches:
        search(watches)
    for c in checks:
        c.report_divisors()
    return [d for c in checks for d in c.diagnostics]


def search_groups(packs: list[CompiledPack]) -> list[list[CompiledPack]]:
    """The versions of each pack, those whose schemas agree searched together; most costly first (drawing
    nested lists, then evaluating each version, flows most), so that no worker is left with a long one at the end."""
    groups: list[list[CompiledPack]] = []
    for pack in packs:
        same = next((g for g in groups if g[0].ir.name == pack.ir.name
                     and shared_schema(schema_of(p.ir) for p in [*g, pack]) is not None), None)
        if same is None:
            groups.append([pack])
        else:
            same.append(pack)
    return sorted(groups, key=lambda g: -_cost(g))


def _cost(group: list[CompiledPack]) -> int:
    drawn = _leaves(FieldShape(type="object", fields=shared_schema(schema_of(p.ir) for p in group)))
    return drawn + sum(_leaves(FieldShape(type="object", fields=schema_of(p.ir))) * (1 + len(p.ir.steps)) for p in group) // 2


def _leaves(spec: FieldShape) -> int:
    """The values one input holds, about: a list of objects holds two elements."""
    subs = {**(spec.items or {}), **(spec.fields or {})}
    if not subs:
        return 1
    return (2 if spec.items is not None else 1) * sum(_leaves(sub) for sub in subs.values())


_FORKED: list[list[CompiledPack]] = []  # the groups a forked analysis worker reads by index (inherited, never pickled)


def _analyse_forked(index: int) -> list[Diagnostic]:
    return check_versions(_FORKED[index])


def _analyse(packs: list[CompiledPack], workers: int) -> list[Diagnostic]:
    """Each group's analysis in a process forked for it alone, ``workers`` at a time; in this process where fork
    is not offered. Each group is seeded alone, and z3's models depend on what it was asked before (the terms it
    has met), so a group analysed in a fresh fork finds the same whichever worker runs it, and after whichever groups."""
    groups = search_groups(packs)
    if len(groups) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [d for group in groups for d in check_versions(group)]
    _FORKED[:] = groups
    try:
        with multiprocessing.get_context("fork").Pool(min(max(workers, 1), len(groups)), maxtasksperchild=1) as pool:
            return [d for found in pool.map(_analyse_forked, range(len(groups)), chunksize=1) for d in found]
    finally:
        _FORKED.clear()


def check_pack_set(pack_set: PackSet, known: set[tuple[str, str]] | None = None,
                   today: dt.date | None = None, *, analyse: bool = True, workers: int = 1) -> list[Diagnostic]:
    """Findings of every pack version, across versions and flows, sorted by file and position.

    ``known``: (pack, version) pairs at the git base; versions outside it are new in this change
    and checked for a retroactive effective_from (None: not checked). ``analyse=False`` leaves out
    the tables' analysis and the invariant search (the slow part), not the checks across packs.
    ``workers``: processes the versions' analyses are spread over (the search is CPU-bound).
    """
    out: list[Diagnostic] = _analyse(list(pack_set), workers) if analyse else []
    out.extend(never_running(pack_set) + window_gaps(pack_set) + pins_outside_window(pack_set))
    out.extend(flow_contracts(pack_set))
    out.extend(code_contracts(pack_set))
    if known is not None:
        out.extend(retroactive(pack_set, known, today or dt.datetime.now(dt.UTC).date()))
    return ordered(out)

