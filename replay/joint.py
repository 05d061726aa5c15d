"""One flow version decided for both sides of a replay in one run of its code, each step's two versions beside each other.

Both sides usually run the same flow version (the order flow) with a few step versions
changed (pricing, credit). Run apart, the flow's code runs twice and each side's run calls
into the shared steps once a step. Here the flow's code runs once, with a step runner that
decides each step for the baseline as its own run would (``SpecPacks.decide_step``: shared,
paired) and, beside it, the candidate's version on the same input: the same decision where the
version is the same, the paired one where paired, else its own.

The flow's code is a pure function of its input and of what it reads of its steps' outputs
(``CompiledPack.steps_read``). While every step's two outputs agree, written alike, on what
the flow reads of them, the candidate's run would feed its steps the same inputs and compute
the same outputs: so its outcome is the baseline's output with its own steps' versions and
rows. At the first step where they do not agree (or the candidate's step fails), the joint run
goes on as the baseline's alone and the candidate's flow is then run alone, taking the steps
already decided for it in the order it calls them: every step of both sides is decided, shared
and counted as two runs would, and each outcome is the one deciding its side alone gives.

Reasons are not gathered: a replay's outcome never reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from engine.compiled import (
    CompiledPack,
    Decision,
    arithmetic_error,
    flow_rows,
    missing_step_field,
    step_failure,
    step_rows,
)
from engine.demand import Wanted
from replay.specs import SpecPacks
from rules.errors import ArbiterError, DecisionError, InputError

Ran = tuple[dict[str, Any], dict[str, list[str]], dict[str, str]]  # a flow's output, its rows (step.table too), each step's version
Taken = tuple[int, CompiledPack, Decision]  # a step decided for the candidate beside the baseline's: its index, its version, its decision

_READS: dict[tuple[str, Wanted], list[Callable[[dict[str, Any]], Any] | None]] = {}


def reads(flow: CompiledPack, outputs: Wanted) -> list[Callable[[dict[str, Any]], Any] | None]:
    """For each step, what the flow's code deciding ``outputs`` reads of its output (None: the whole output)."""
    key = (flow.digest, outputs)
    found = _READS.get(key)
    if found is None:
        found = _READS[key] = [None if read is None else itemgetter(*sorted(read)) if read else _nothing
                               for read in flow.steps_read(outputs)]
    return found


def _nothing(output: dict[str, Any]) -> None:
    return None


def agree(read: Callable[[dict[str, Any]], Any] | None, x: dict[str, Any], y: dict[str, Any]) -> bool:
    """Whether the flow reads the same of two step outputs: the same values, classes and digits (``repr``: 1.0 is not 1.00)."""
    if x is y:
        return True
    try:
        return repr(x if read is None else read(x)) == repr(y if read is None else read(y))
    except KeyError:  # an output one side lacks: decided apart, where it fails as it would alone
        return False


def decide_flow_both(flow: CompiledPack, base: SpecPacks, cand: SpecPacks, values: dict[str, Any], as_of: dt.date,
                     outputs: Wanted) -> tuple[Ran | ArbiterError, Ran | ArbiterError]:
    """Each side's run of ``flow`` on validated ``values``, or the error it raises; both sides share one ``SharedSteps``."""
    evaluate = flow.evaluator_for(outputs)
    wanted, read, flow_steps, shared = flow.steps_wanted(outputs), reads(flow, outputs), flow.ir.steps, base.shared
    get_a, get_b, decide_a, decide_b, plan = base.get, cand.get, base.decide_step, cand.decide_step, flow.step_plan
    steps_a: dict[str, str] = {}
    steps_b: dict[str, str] = {}
    matched_a: dict[str, list[str]] = {}
    taken: list[Taken] = []
    joint = True

    def run_both(index: int, step_values: dict[str, Any]) -> dict[str, Any]:
        nonlocal joint
        step = flow_steps[index]
        pa = get_a(step.pack, step.version, as_of)
        trusted, names = plan(index, pa, as_of)
        try:
            da = decide_a(pa, step_values, as_of, trusted, wanted[index])
        except (InputError, DecisionError) as exc:
            raise step_failure(step.id, pa.key, exc) from None
        steps_a[step.id] = pa.version
        step_rows(step.id, names, da.matched, matched_a)
        output: dict[str, Any] = da.output
        if joint:
            try:
                pb = get_b(step.pack, step.version, as_of)
                if pb is pa:  # what the candidate's own run finds shared: this very decision
                    shared.reused += 1  # type: ignore[union-attr]
                    cand.steps_decided.append((pb.name, da))
                    db = da
                else:
                    db = decide_b(pb, step_values, as_of, plan(index, pb, as_of)[0], wanted[index])
            except ArbiterError:  # the candidate's run fails here: it runs alone and fails as it does
                joint = False
                return output
            taken.append((index, pb, db))
            joint = db is da or agree(read[index], output, db.output)
        return output

    try:
        out, own = _run(flow, evaluate, values, as_of, run_both)
        a: Ran | ArbiterError = (out, flow_rows(own, [], matched_a, [])[0], steps_a)
    except ArbiterError as exc:
        a, joint = exc, False
    if not joint:
        return a, _alone(flow, cand, values, as_of, evaluate, wanted, taken)
    matched_b: dict[str, list[str]] = {}
    for index, pb, db in taken:
        step = flow_steps[index]
        steps_b[step.id] = pb.version
        step_rows(step.id, plan(index, pb, as_of)[1], db.matched, matched_b)
    return a, (out, flow_rows(own, [], matched_b, [])[0], steps_b)


def _alone(flow: CompiledPack, side: SpecPacks, values: dict[str, Any], as_of: dt.date, evaluate: Callable[..., Any],
           wanted: list[Wanted], taken: list[Taken]) -> Ran | ArbiterError:
    """``side``'s own run of ``flow``, its first steps ``taken`` as decided beside the other side's (the calls it makes first)."""
    flow_steps, get, decide, plan = flow.ir.steps, side.get, side.decide_step, flow.step_plan
    steps: dict[str, str] = {}
    matched: dict[str, list[str]] = {}
    pending = iter(taken)
    ahead = next(pending, None)

    def run_step(index: int, step_values: dict[str, Any]) -> dict[str, Any]:
        nonlocal ahead
        step = flow_steps[index]
        if ahead is not None and ahead[0] == index:
            _, pack, decision = ahead
            ahead = next(pending, None)
        else:
            ahead = None  # the same code on inputs that agree calls the same steps: a different call ends what was taken
            pack = get(step.pack, step.version, as_of)
            trusted = plan(index, pack, as_of)[0]
            try:
                decision = decide(pack, step_values, as_of, trusted, wanted[index])
            except (InputError, DecisionError) as exc:
                raise step_failure(step.id, pack.key, exc) from None
        steps[step.id] = pack.version
        step_rows(step.id, plan(index, pack, as_of)[1], decision.matched, matched)
        output: dict[str, Any] = decision.output
        return output

    try:
        out, own = _run(flow, evaluate, values, as_of, run_step)
    except ArbiterError as exc:
        return exc
    return out, flow_rows(own, [], matched, [])[0], steps


def _run(flow: CompiledPack, evaluate: Callable[..., Any], values: dict[str, Any], as_of: dt.date,
         run_step: Callable[[int, dict[str, Any]], dict[str, Any]]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The flow's code run with ``run_step``: its output and its own rows, or the error deciding raises."""
    try:
        out, own, _ = evaluate(values, as_of, run_step)
    except ArithmeticError as exc:
        raise arithmetic_error(exc) from None
    except KeyError as exc:
        raise missing_step_field(flow.key, exc, as_of) from None
    flow.check_output(out)
    return out, own
