"""The decision routes' work after the call is resolved: limits, each item decided, recorded, shadowed and counted."""

from __future__ import annotations

import logging
import time
from typing import Any

from api import problems
from api.audit import Recorder
from api.call import Call
from api.errors import RequestTooLarge
from api.fallbacks import fallback_answer, fallback_decision
from api.metrics import Metrics
from api.shadow import Shadow
from engine.compiled import CompiledPack, Decision
from rules.errors import ArbiterError, FieldProblem, InputError, MalformedRequest

log = logging.getLogger("arbiter.api")


def check_lines(item: Any, limit: int) -> None:
    """An order's ``lines`` within ARBITER_MAX_LINES (413 otherwise)."""
    if isinstance(item, dict):
        lines = item.get("lines")
        if isinstance(lines, list) and len(lines) > limit:
            raise RequestTooLarge(f"/lines: {len(lines)} lines, at most {limit} (ARBITER_MAX_LINES)")


def batch_inputs(body: Any, limit: int) -> list[Any]:
    """The batch's inputs; any other key is refused as a single decision refuses an undeclared field (422)."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise MalformedRequest('body must be {"inputs": [...]}')
    unknown = [key for key in body if key != "inputs"]
    if unknown:
        raise InputError([FieldProblem((key,), "unknown", 'is not a field of a batch (only "inputs")') for key in unknown])
    inputs: list[Any] = body["inputs"]
    if len(inputs) > limit:
        raise RequestTooLarge(f"a batch holds at most {limit} inputs (ARBITER_MAX_BATCH); this one {len(inputs)}")
    return inputs


def after_decision(decision: Decision, raw_input: Any, call: Call, recorder: Recorder | None, shadow: Shadow | None,
                   route: str, latency: float, index: int | None = None, fallback: dict[str, Any] | None = None) -> Any:
    """Record the decision and hand it to shadow mode, under one decision id; the writer's ticket (audit mode).

    A fallback is recorded with its cause and not shadowed: the champion did not decide. A
    single decision's response (``call.answer``) and body go to shadow mode as they are.
    """
    ticket = decision_id = None
    if fallback is not None:
        log.info("fallback answered for %s: %s", decision.pack, fallback["cause"],
                 extra={"pack": decision.pack, "version": decision.version, "cause": fallback["cause"],
                        "code": fallback["problem"].get("code")})
    if recorder is not None:
        record = recorder.decision(decision, raw_input, request_id=call.request_id, caller=call.caller, route=route,
                                   latency=latency, index=index, extra={"fallback": fallback} if fallback else None)
        decision_id = record["decision_id"]
        ticket = recorder.write(record)
    if shadow is not None and fallback is None:
        body = call.raw if call.answer is not None else None
        shadow.submit(decision, raw_input, call.request_id, call.packs, decision_id, body, call.answer)
    return ticket


def decide_each(compiled: CompiledPack, inputs: list[Any], call: Call, recorder: Recorder | None,
                max_lines: int, shadow: Shadow | None = None) -> tuple[list[dict[str, Any]], list[Any]]:
    """Each input's decision, or its problem, in place, each recorded under its own decision id; the writer's tickets."""
    day = call.day
    assert day is not None
    results: list[dict[str, Any]] = []
    tickets: list[Any] = []
    if shadow is not None and compiled.name not in shadow.challengers:
        shadow = None
    plain = recorder is None and call.steps_from is None and shadow is None
    for index, item in enumerate(inputs):
        start = time.perf_counter()
        try:
            check_lines(item, max_lines)
            if plain:
                results.append(compiled.decide_as_dict(item, day))
                continue
            decision = compiled.evaluate(compiled.validate(item), day, pack_set=call.steps_from)
        except ArbiterError as exc:
            found = fallback_decision(compiled, day, exc)
            if found is not None:
                results.append(fallback_answer(*found))
                tickets.append(after_decision(found[0], item, call, recorder, None, "batch", time.perf_counter() - start,
                                              index, fallback=found[1]))
                continue
            problem = problems.problem_body(exc)
            results.append({"error": problem})
            if recorder is not None:
                recorder.write_refusal(recorder.refusal(problem, item, request_id=call.request_id, caller=call.caller,
                                                route="batch", latency=time.perf_counter() - start,
                                                pack=compiled.name, version=compiled.version, as_of=day, index=index))
            continue
        results.append(decision.as_dict())
        tickets.append(after_decision(decision, item, call, recorder, shadow, "batch", time.perf_counter() - start, index))
    return results, tickets


def outcome_of(output: Any, fallback: Any) -> str:
    """The outcome label of arbiter_decisions_total: 'fallback', the 'decision' output, or 'decided'."""
    if fallback is not None:
        return "fallback"
    outcome = output.get("decision") if isinstance(output, dict) else None
    return outcome if isinstance(outcome, str) else "decided"


def count_decision(metrics: Metrics, decision: Decision, fallback: Any = None) -> None:
    metrics.decision(decision.pack, decision.version, outcome_of(decision.output, fallback))


def count_outcomes(metrics: Metrics, compiled: CompiledPack, results: list[dict[str, Any]]) -> None:
    """arbiter_decisions_total for a batch: each item by its outcome (outcome_of), refused items as 'refused'."""
    counts: dict[str, int] = {}
    for result in results:
        key = "refused" if "error" in result else outcome_of(result.get("output"), result.get("fallback"))
        counts[key] = counts.get(key, 0) + 1
    for outcome, count in counts.items():
        metrics.decision(compiled.name, compiled.version, outcome, count)
