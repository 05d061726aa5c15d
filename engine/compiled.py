"""A compiled pack version: validate, evaluate, finalise outputs, into a ``Decision``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import fields
from functools import partial
from typing import Any, NamedTuple

from engine import jsonio, order_contract
from engine.backend import NATIVE, Backend, Evaluate, Evaluator
from engine.codegen import generate_invariants
from engine.demand import Wanted
from engine.demand import step_outputs as demanded
from engine.inputs import compile_validator
from engine.records import asking, step_fields
from engine.runtime import NAMESPACE
from rules.errors import DecisionError, InputError
from rules.input_types import Held, held
from rules.ir import FieldDef, FieldShape, PackIR
from rules.syntax import Member, Name, Node


def _shape(spec: FieldShape) -> Any:
    """What validation depends on: the spec without its descriptions and vocabulary (checked by ``arbiter check`` only)."""
    dumped = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name not in ("description", "vocabulary")}
    for nested in ("items", "fields"):
        members: dict[str, FieldShape] | None = getattr(spec, nested)
        if members is not None:
            dumped[nested] = {name: _shape(sub) for name, sub in members.items()}
    return dumped


def _covers(given: Any, declared: Any) -> bool:
    """Whether values valid under the ``given`` shape pass the ``declared`` one once its defaults fill their nulls.

    The same constraints, field by field; objects may carry fields the declared shape does
    not have (a flow's order lines carry descriptions a pricing step does not read). A
    default is no constraint: the step's adapter (``compile_validator``'s passthrough) puts
    it where the value is null, as validation would; a required field fits an optional one.
    """
    if not isinstance(given, dict) or not isinstance(declared, dict):
        return bool(given == declared)
    for key, value in declared.items():
        if key in ("items", "fields") and isinstance(value, dict) and isinstance(given.get(key), dict):
            if not all(name in given[key] and _covers(given[key][name], sub) for name, sub in value.items()):
                return False
        elif key == "optional":
            if given.get(key) and not value:
                return False
        elif key != "default" and given.get(key) != value:
            return False
    return True


def decision_dict(pack: str, version: str, digest: str, as_of: dt.date, output: dict[str, Any],
                  matched: dict[str, list[str]], reasons: list[str]) -> dict[str, Any]:
    """A decision as the API and the CLI write it; the key order is part of the canonical bytes."""
    return {"pack": pack, "version": version, "digest": digest, "as_of": as_of, "output": output,
            "matched": matched, "reasons": reasons}


class Decision(NamedTuple):
    """The outcome of one evaluation.

    A tuple: the hot path builds it in one C call (``tuple.__new__``), a third of what a
    class with an ``__init__`` costs, which is a tenth of a small table's whole decision.
    Equal and hashed by identity, as any object: its dicts are not hashable.
    """

    pack: str
    version: str
    digest: str
    as_of: dt.date
    output: dict[str, Any]
    matched: dict[str, list[str]]
    reasons: list[str]
    trace: dict[str, Any] | None = None
    steps: dict[str, str] | None = None  # flows: the version each step ran

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return object.__hash__(self)

    def as_dict(self) -> dict[str, Any]:
        out = decision_dict(self.pack, self.version, self.digest, self.as_of, self.output, self.matched, self.reasons)
        if self.steps is not None:
            out["steps"] = self.steps
        if self.trace is not None:
            out["trace"] = self.trace
        return out

    def to_json(self) -> bytes:
        """The canonical bytes of this decision: the same for API, CLI and simulator."""
        return jsonio.dumps(self.as_dict())


_new_tuple = tuple.__new__


# What JSON consumers (and orjson) can hold as a whole number: a signed 64-bit integer.
INT64 = (-(2**63), 2**63 - 1)


def integer_output_bounds(ir: PackIR) -> list[tuple[str, Any, Any]]:
    """Each whole-number output with the range it must stay in: as declared, within 64 bits."""
    out = []
    for f in ir.outputs:
        if held(f.spec.type) is Held.INTEGER:
            low = INT64[0] if f.spec.min is None else max(INT64[0], f.spec.min)
            high = INT64[1] if f.spec.max is None else min(INT64[1], f.spec.max)
            out.append((f.name, low, high))
    return out


def arithmetic_error(exc: ArithmeticError) -> DecisionError:
    return DecisionError("arithmetic", f"arithmetic out of range: {type(exc).__name__}")


def check_integer_outputs(bounds: list[tuple[str, Any, Any]], output: dict[str, Any]) -> None:
    for name, low, high in bounds:
        value = output.get(name)
        if value is not None and not low <= value <= high:
            raise DecisionError("output-out-of-range", f"output {name!r} = {value} is outside its range [{low}, {high}]")


def _listed_fields(f: FieldDef) -> list[str] | None:
    """The fields an output of a flow lists of its records (it picks its declared items), None if it writes them whole."""
    return list(f.spec.items) if f.spec.type == "list" and f.spec.items is not None else None


def step_failure(step: str, pack: str, exc: InputError | DecisionError) -> DecisionError:
    """What a flow raises where its step ``step`` (run by ``pack``) failed: the step named, an invalid input as step-input."""
    if isinstance(exc, InputError):
        return DecisionError("step-input", f"step {step!r} gave {pack} an invalid input: {exc.message}")
    return DecisionError(exc.code, f"step {step!r} ({pack}): {exc.message}", exc.table)


def missing_step_field(flow: str, exc: KeyError, as_of: dt.date) -> DecisionError:
    """What a flow raises where its code read a field a step's version did not give.

    The step contract is checked before a step runs (``_require_step_contract``), but only for
    outputs and the fields of the records a flow lists; a field read deeper (a record's record,
    records read whole) is refused here, by name, rather than failing as a server error.
    """
    return DecisionError("step-contract", f"on {as_of} {flow} reads {exc.args[0]!r} of a step whose version gives no "
                         "such field; pin a version that has it, or decide on a date inside the flow's window")


def step_rows(step: str, names: dict[str, str], rows: dict[str, list[str]], matched: dict[str, list[str]]) -> None:
    """A step's fired rows added to its flow's ``matched`` as step.table (``names`` keeps each name made)."""
    for table, ids in rows.items():
        name = names.get(table)
        if name is None:
            name = names[table] = f"{step}.{table}"
        matched[name] = ids


def flow_rows(matched: dict[str, list[str]], reasons: list[str], step_matched: dict[str, list[str]],
              step_reasons: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """A flow's rows and reasons: its own tables and reasons after its steps' (a flow without its own: theirs)."""
    return ({**step_matched, **matched} if matched else step_matched), (step_reasons + reasons if reasons else step_reasons)


class CompiledPack:
    """One pack version, compiled once; evaluation is a pure function of (input, as_of)."""

    def __init__(self, ir: PackIR, backend: Backend, evaluator: Evaluator) -> None:
        """A pack compiled by ``backend`` into ``evaluator``: see ``compile_pack``."""
        self.ir = ir
        self.name = ir.name
        self.version = ir.version
        self.digest = ir.digest
        self.backend = backend
        self.source = evaluator.source
        self._evaluate: Evaluate = evaluator.evaluate
        self._traced: Callable[..., Any] | None = None
        self._invariants: Callable[..., Any] | None = None
        self.pack_set: Any = None  # set by the registry; flows run their steps from it
        self.validate = order_contract.guarded(ir, compile_validator(ir.inputs))
        self._step_validators: dict[frozenset[str], Callable[[Any], dict[str, Any]]] = {}
        self._trusted: dict[tuple[int, str], frozenset[str]] = {}  # flows: per (step, step digest)
        # flows, per (step, step digest) whose contract holds: its trusted inputs, and its rows' names as step.table
        self._step_plans: dict[tuple[int, str], tuple[frozenset[str], dict[str, str]]] = {}
        self._partial: dict[frozenset[str], Evaluate] = {}  # by the outputs asked for
        self._step_outputs: dict[frozenset[str], list[Wanted]] = {}  # flows: what each step must give
        self._step_gaps: dict[tuple[int, str], list[str]] = {}  # flows: outputs a step version lacks, per (step, step digest)
        self._served: list[Wanted] | None = None  # flows: what each step must give when the flow alone reads it
        self._integer_outputs = integer_output_bounds(ir)
        self._flow = bool(ir.steps)
        if not self._flow and not self._integer_outputs:
            self.evaluate = self._plain_evaluate()  # type: ignore[method-assign]

    @property
    def key(self) -> str:
        return self.ir.key

    def effective_on(self, day: dt.date) -> bool:
        ir = self.ir
        return (ir.effective_from is None or ir.effective_from <= day) and (ir.effective_to is None or day < ir.effective_to)

    def evaluate(self, values: dict[str, Any], as_of: dt.date, *, trace: bool = False, outputs: Wanted = None,
                 pack_set: Any = None) -> Decision:
        """Decide for already validated ``values`` (see ``validate``).

        ``outputs`` names the outputs the caller reads: the others may be left out where
        computing them cannot fail (engine.demand), so the decision is otherwise the same.
        A flow runs its steps from ``pack_set`` when given (a replay's side), else from the
        set it is served from.
        """
        if trace or self._flow:
            return self._evaluate_in_full(values, as_of, trace, outputs, pack_set)
        if outputs is not None or self._integer_outputs:
            output, matched, reasons = self._plain(values, as_of, outputs)
        else:  # the hot path of _plain, inline: a call is a tenth of a small table's decision
            try:
                output, matched, reasons = self._evaluate(values, as_of)
            except ArithmeticError as exc:
                raise arithmetic_error(exc) from None
        return _new_tuple(Decision, (self.name, self.version, self.digest, as_of, output, matched, reasons, None, None))

    def _plain_evaluate(self) -> Callable[..., Decision]:
        """``evaluate`` of a decision pack without integer outputs, as a closure: no method to bind, no attribute to read per call."""
        evaluate, slow, new = self._evaluate, partial(CompiledPack.evaluate, self), tuple.__new__
        name, version, digest = self.name, self.version, self.digest

        def plain(values: dict[str, Any], as_of: dt.date, *, trace: bool = False, outputs: Wanted = None,
                  pack_set: Any = None) -> Decision:
            if trace or outputs is not None:
                return slow(values, as_of, trace=trace, outputs=outputs, pack_set=pack_set)
            try:
                output, matched, reasons = evaluate(values, as_of)
            except ArithmeticError as exc:
                raise arithmetic_error(exc) from None
            return new(Decision, (name, version, digest, as_of, output, matched, reasons, None, None))

        plain.__doc__ = CompiledPack.evaluate.__doc__
        return plain

    def _plain(self, values: dict[str, Any], as_of: dt.date,
               outputs: Wanted = None) -> tuple[dict[str, Any], dict[str, list[str]], list[str]]:
        """The hot path: a decision pack, no trace; output, matched rows and reasons."""
        evaluate = self._evaluate if outputs is None else self._evaluate_for(outputs)
        try:
            found = evaluate(values, as_of)
        except ArithmeticError as exc:
            raise arithmetic_error(exc) from None
        if self._integer_outputs:
            check_integer_outputs(self._integer_outputs, found[0])
        return found

    def _evaluate_for(self, outputs: frozenset[str]) -> Evaluate:
        found = self._partial.get(outputs)
        if found is None:
            found = self._partial[outputs] = self.backend.evaluator(self.ir, outputs=outputs).evaluate
        return found

    def decide_as_dict(self, raw: Any, as_of: dt.date) -> dict[str, Any]:
        """``decide(raw, as_of).as_dict()`` without building the Decision: the batch endpoint's loop."""
        if self.ir.steps:
            return self.decide(raw, as_of).as_dict()
        return decision_dict(self.name, self.version, self.digest, as_of, *self._plain(self.validate(raw), as_of))

    def _evaluate_in_full(self, values: dict[str, Any], as_of: dt.date, trace: bool, outputs: Wanted = None,
                          pack_set: Any = None) -> Decision:
        """A flow (its steps run from ``pack_set``), a traced decision, or a step: validated ``values`` decided."""
        if trace:
            return self._evaluate_traced(values, as_of, pack_set)
        steps: dict[str, str] | None = None
        step_matched: dict[str, list[str]] = {}
        step_reasons: list[str] = []
        evaluate = self.evaluator_for(outputs)
        try:
            if self._flow:
                steps = {}
                output, matched, reasons = evaluate(values, as_of, self._step_runner(as_of, steps, step_matched, step_reasons,
                                                                                     outputs, pack_set))
            else:
                output, matched, reasons = evaluate(values, as_of)
        except ArithmeticError as exc:
            raise arithmetic_error(exc) from None
        except KeyError as exc:
            if not self._flow:
                raise
            raise missing_step_field(self.key, exc, as_of) from None
        if self._integer_outputs:
            check_integer_outputs(self._integer_outputs, output)
        if steps is not None:
            matched, reasons = flow_rows(matched, reasons, step_matched, step_reasons)
        return _new_tuple(Decision, (self.name, self.version, self.digest, as_of, output, matched, reasons, None, steps))

    def evaluator_for(self, outputs: Wanted) -> Evaluate:
        """The generated function deciding ``outputs`` (None: all); a flow's takes a step runner as third argument."""
        return self._evaluate if outputs is None else (self._partial.get(outputs) or self._evaluate_for(outputs))

    def check_output(self, output: dict[str, Any]) -> None:
        """Raise as deciding does where a whole-number output is out of its range."""
        if self._integer_outputs:
            check_integer_outputs(self._integer_outputs, output)

    def _evaluate_traced(self, values: dict[str, Any], as_of: dt.date, pack_set: Any = None) -> Decision:
        """Every output, with what each derived value, table and step gave (a flow's steps traced too)."""
        log: dict[str, Any] = {"derived": {}, "tables": {}, **({"steps": {}} if self.ir.steps else {})}
        extra: tuple[Any, ...] = ()
        steps: dict[str, str] | None = None
        step_matched: dict[str, list[str]] = {}
        step_reasons: list[str] = []
        if self.ir.steps:
            steps = {}
            extra = (self._step_runner(as_of, steps, step_matched, step_reasons, None, pack_set, log["steps"]),)
        try:
            output, matched, reasons = self._traced_function()(values, as_of, log, *extra)
        except ArithmeticError as exc:
            raise arithmetic_error(exc) from None
        except KeyError as exc:
            if not self._flow:
                raise
            raise missing_step_field(self.key, exc, as_of) from None
        if self._integer_outputs:
            check_integer_outputs(self._integer_outputs, output)
        if steps is not None:
            matched, reasons = flow_rows(matched, reasons, step_matched, step_reasons)
        return Decision(self.name, self.version, self.digest, as_of, output, matched, reasons, log, steps)

    def _step_runner(self, as_of: dt.date, steps: dict[str, str], matched: dict[str, list[str]], reasons: list[str],
                     outputs: Wanted, pack_set: Any = None,
                     traces: dict[str, Any] | None = None) -> Callable[[int, dict[str, Any]], dict[str, Any]]:
        """Runs a flow's steps; with ``traces``, each step is decided traced and its trace kept under its id."""
        unread = traces is None and (pack_set is None or getattr(pack_set, "steps_unread", False))
        if pack_set is None:
            pack_set = self.pack_set
        if pack_set is None:
            raise DecisionError("flow-unbound", f"flow {self.key} is not served from a pack set")
        step_outputs = self.steps_wanted(outputs, unread)
        # read once an order, not once a step: each run_step is a handful of lookups around the step's own work
        flow_steps, plans, get, decide = self.ir.steps, self._step_plans, pack_set.get, pack_set.decide_step

        def run_step(index: int, values: dict[str, Any]) -> dict[str, Any]:
            step = flow_steps[index]
            pack = get(step.pack, step.version, as_of)
            trusted, names = plans.get((index, pack.digest)) or self.step_plan(index, pack, as_of)
            try:
                if traces is None:
                    decision = decide(pack, values, as_of, trusted, step_outputs[index])
                else:
                    decision = pack.decide_step(values, as_of, trusted, trace=True)
                    traces[step.id] = decision.trace
            except (InputError, DecisionError) as exc:
                raise step_failure(step.id, pack.key, exc) from None
            steps[step.id] = pack.version
            step_rows(step.id, names, decision.matched, matched)
            if decision.reasons:
                reasons.extend(decision.reasons)
            output: dict[str, Any] = decision.output
            return output

        return run_step

    def steps_wanted(self, outputs: Wanted, unread: bool = False) -> list[Wanted]:
        """What each step must give the flow deciding ``outputs``; ``unread``: nothing but the flow reads the steps' outputs."""
        if outputs is None:
            return self._served_step_outputs() if unread else [None] * len(self.ir.steps)
        found = self._step_outputs.get(outputs)
        return found if found is not None else self._step_outputs.setdefault(outputs, demanded(self.ir, outputs))

    def steps_read(self, outputs: Wanted) -> list[Wanted]:
        """What the flow's code deciding ``outputs`` reads of each step's output, at most (None: the whole output)."""
        return demanded(self.ir, frozenset(f.name for f in self.ir.outputs) if outputs is None else outputs)

    def step_plan(self, index: int, pack: CompiledPack, as_of: dt.date) -> tuple[frozenset[str], dict[str, str]]:
        """Step ``index`` run by ``pack``: the inputs it trusts, and its rows' names as step.table (filled as they fire).

        A step version that breaks the flow's contract raises here on every order, never planned.
        """
        plan = self._step_plans.get((index, pack.digest))
        if plan is None:
            self._require_step_contract(index, pack, as_of)
            plan = self._step_plans[(index, pack.digest)] = (self.trusted_step_inputs(index, pack), {})
        return plan

    def _served_step_outputs(self) -> list[Wanted]:
        """What each step must give a flow deciding in full when nothing but the flow reads the steps' outputs.

        The outputs the flow reads of it, and of a list of records the fields it reads
        (engine.records), so the step builds no field nobody reads. A replay reads the steps'
        outputs (what changed, step by step), and a trace shows them: they decide in full.
        """
        if self._served is None:
            everything = frozenset(f.name for f in self.ir.outputs)
            fields = step_fields(self.ir, list(self.ir.outputs), _listed_fields)
            self._served = [None if read is None else frozenset(read.union(*(asking(name, f) for name, f in trimmed.items() if name in read)))
                            for read, trimmed in zip(demanded(self.ir, everything), fields, strict=True)]
        return self._served

    def _require_step_contract(self, index: int, pack: CompiledPack, as_of: dt.date) -> None:
        """Refuse a step version that lacks an output the flow reads of it (a flow pinned outside its window).

        `arbiter check` reports such a version inside the flow's window; outside it, as_of can still
        pick one, and reading the missing output would otherwise fail as a server error.
        """
        key = (index, pack.digest)
        missing = self._step_gaps.get(key)
        if missing is None:
            missing = self._step_gaps[key] = self._step_gaps_of(index, pack)
        if missing:
            step = self.ir.steps[index]
            raise DecisionError("step-contract", f"on {as_of} step {step.id!r} runs {pack.key}, which has no output "
                                f"{', '.join(missing)} that {self.key} reads; pin a {pack.name} version that has it, or decide "
                                f"on a date inside {self.key}'s window")

    def _step_gaps_of(self, index: int, pack: CompiledPack) -> list[str]:
        """What the flow reads of step ``index`` that ``pack`` does not declare: outputs, and fields of the records it lists.

        A field read inside a listed record (``allocation.lines[].backorder_quantity``) counts too:
        a version whose records lack it would fail in the flow's code as a server error.
        """
        everything = frozenset(f.name for f in self.ir.outputs)
        read = demanded(self.ir, everything)[index] or frozenset()
        declared = {f.name: f for f in pack.ir.outputs}
        missing = sorted(read - declared.keys())
        fields = step_fields(self.ir, list(self.ir.outputs), _listed_fields)[index]
        for output, wanted in sorted(fields.items()):
            listed = _listed_fields(declared[output]) if output in declared else None
            if listed is not None:
                missing += [f"{output}[].{field}" for field in sorted(wanted - set(listed))]
        return missing

    def decide_step(self, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str] = frozenset(),
                    outputs: Wanted = None, *, trace: bool = False) -> Decision:
        """Decide as a flow's step: ``values`` come from a validated flow input and may carry more fields.

        ``trusted`` fields were validated by the flow against a schema that covers the step's,
        so they are passed through, only the step's defaults put where they are null; the
        others are validated, undeclared fields dropped.
        """
        validate = self._step_validators.get(trusted) or self._step_validator(trusted)
        # evaluate's own path without its dispatch: a step is decided several times an order
        return self._evaluate_in_full(validate(values), as_of, trace, outputs)

    def step_input(self, values: dict[str, Any], trusted: frozenset[str] = frozenset()) -> dict[str, Any]:
        """``values`` validated as ``decide_step`` validates them (``trusted`` fields passed through)."""
        return (self._step_validators.get(trusted) or self._step_validator(trusted))(values)

    def _step_validator(self, trusted: frozenset[str]) -> Callable[[Any], dict[str, Any]]:
        validate = self._step_validators[trusted] = compile_validator(
            [f for f in self.ir.inputs if f.name not in trusted], strict=False,
            passthrough=[f for f in self.ir.inputs if f.name in trusted])
        return validate

    def trusted_step_inputs(self, index: int, step_pack: CompiledPack) -> frozenset[str]:
        """The inputs of step ``index`` that this flow reads, unchanged, from an input whose declaration covers the step's."""
        key = (index, step_pack.digest)
        found = self._trusted.get(key)
        if found is None:
            declared = {f.name: f.spec for f in step_pack.ir.inputs}
            found = self._trusted[key] = frozenset(
                name for name, node in self.ir.steps[index].inputs.items()
                if name in declared and (spec := self._input_spec(node)) is not None and _covers(_shape(spec), _shape(declared[name])))
        return found

    def _input_spec(self, node: Node) -> FieldShape | None:
        """The declared spec of a flow input (or a field of a required object input) that ``node`` reads as is."""
        if isinstance(node, Name) and node.symbol is not None and node.symbol.kind == "input":
            return next((f.spec for f in self.ir.inputs if f.name == node.symbol.name), None)
        if isinstance(node, Member) and not node.target.type.nullable:
            parent = self._input_spec(node.target)
            if parent is not None and parent.type == "object" and parent.fields:
                return parent.fields.get(node.name)
        return None

    def decide(self, raw: Any, as_of: dt.date, *, trace: bool = False) -> Decision:
        """Validate ``raw`` against the input schema, then decide."""
        return self.evaluate(self.validate(raw), as_of, trace=trace)

    def violated_invariants(self, values: dict[str, Any], output: dict[str, Any], as_of: dt.date) -> list[str]:
        """Names of the declared invariants this (input, output) pair breaks."""
        if not self.ir.invariants:
            return []
        if self._invariants is None:
            source, constants = generate_invariants(self.ir)
            namespace = dict(NAMESPACE)
            namespace.update(constants)
            exec(compile(source, "<arbiter invariants>", "exec"), namespace)  # noqa: S102 - generated from checked IR
            self._invariants = namespace["invariants"]
        results = self._invariants(values, output, as_of)
        return [inv.name for inv, ok in zip(self.ir.invariants, results, strict=True) if ok is False]

    def _traced_function(self) -> Callable[..., Any]:
        if self._traced is None:
            self._traced = self.backend.evaluator(self.ir, traced=True).evaluate
        return self._traced


def compile_pack(ir: PackIR, backend: Backend = NATIVE) -> CompiledPack:
    """Compile ``ir`` on ``backend``: the explicit step from a checked pack to one that decides."""
    return CompiledPack(ir, backend, backend.evaluator(ir))
