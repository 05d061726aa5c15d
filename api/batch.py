"""One decision call's state, and the batch route's work: limits, each item decided, recorded and counted."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from api import problems
from api.audit import Recorder
from api.metrics import Metrics
from api.shadow import Shadow
from engine.compiled import CompiledPack, Decision
from rules.errors import ArbiterError, MalformedRequest, RequestTooLarge, ServiceUnavailable

if TYPE_CHECKING:
    from api.app import Observe


@dataclass
class Call:
    """What a decision route learns about its request as it goes (a refusal records what was known)."""

    observe: Observe
    request_id: str
    caller: str | None = None
    day: dt.date | None = None
    body: Any = None
    steps_from: Any = None  # api.pins.PinnedPacks when the request pins step versions
    packs: Any = None  # the PackSet served when the call resolved its pack (a reload swaps the service's)

    def refuse(self, recorder: Recorder | None, exc: ArbiterError, route: str, today: dt.date) -> None:
        """Record the refusal ``exc`` (not when it is the decision log itself that cannot take records)."""
        if recorder is None or isinstance(exc, ServiceUnavailable):
            return
        observe = self.observe
        recorder.write_refusal(recorder.refusal(problems.problem_body(exc), self.body, request_id=self.request_id, caller=self.caller,
                                route=route, latency=time.perf_counter() - observe.start,
                                pack=observe.pack if observe.version else None, version=observe.version or None,
                                as_of=self.day or today))


def check_lines(item: Any, limit: int) -> None:
    """An order's ``lines`` within ARBITER_MAX_LINES (413 otherwise)."""
    if isinstance(item, dict):
        lines = item.get("lines")
        if isinstance(lines, list) and len(lines) > limit:
            raise RequestTooLarge(f"/lines: {len(lines)} lines, at most {limit} (ARBITER_MAX_LINES)")


def batch_inputs(body: Any, limit: int) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise MalformedRequest('body must be {"inputs": [...]}')
    inputs: list[Any] = body["inputs"]
    if len(inputs) > limit:
        raise RequestTooLarge(f"a batch holds at most {limit} inputs (ARBITER_MAX_BATCH); this one {len(inputs)}")
    return inputs


def after_decision(decision: Decision, raw_input: Any, call: Call, recorder: Recorder | None, shadow: Shadow | None,
                   route: str, latency: float, index: int | None = None) -> Any:
    """Record the decision and hand it to shadow mode, under one decision id; the writer's ticket (audit mode)."""
    ticket = decision_id = None
    if recorder is not None:
        record = recorder.decision(decision, raw_input, request_id=call.request_id, caller=call.caller, route=route,
                                   latency=latency, index=index)
        decision_id = record["decision_id"]
        ticket = recorder.write(record)
    if shadow is not None:
        shadow.submit(decision, raw_input, call.request_id, call.packs, decision_id)
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


def count_outcomes(metrics: Metrics, compiled: CompiledPack, results: list[dict[str, Any]]) -> None:
    """arbiter_decisions_total for a batch: each item by its decision output, refused items as 'refused'."""
    counts: dict[str, int] = {}
    for result in results:
        output = result.get("output")
        outcome = output.get("decision") if isinstance(output, dict) else None
        key = "refused" if "error" in result else outcome if isinstance(outcome, str) else "decided"
        counts[key] = counts.get(key, 0) + 1
    for outcome, count in counts.items():
        metrics.decision(compiled.name, compiled.version, outcome, count)
