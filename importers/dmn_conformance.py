"""Running the DMN TCK through the DMN importer: per model, the cases passed, failed and unsupported.

A model is converted and written as ``arbiter import dmn`` writes it, compiled like any pack
set, and each TCK case decided. A case is unsupported, never failed, when a result it checks
is a refused decision, when it gives a value to something that is not a converted input (a
refused input, or a decision whose value the case fixes), or when it holds a value of a type
the packs do not have, or when the pack refuses its input (DMN would coerce it); the reason is
kept. A case whose every result expects an error passes
when the decision is refused with an error.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as safe_xml

from engine.compiled import CompiledPack
from engine.registry import PackSet, build_pack_set, with_backend
from engine.testing import same, show
from importers import dmn
from importers.tck import TC, Case, tck_cases
from rules.emit import render_pack
from rules.errors import ArbiterError, Diagnostic, InputError

AS_OF = dt.date(2026, 1, 1)
# decision errors that say FEEL's answer is not given here (rules.temporal), rather than give a wrong one
REFUSALS = frozenset({"undefined-temporal", "unsupported-value"})


def write_dmn(converted: dmn.DmnPack, out: Path) -> list[Path]:
    """The converted model's packs as ``out/<pack>/1.0.0.yaml``: one, or a flow and a pack per decision."""
    written = []
    for document in converted.documents:
        folder = out / document["pack"]
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{document['version']}.yaml"
        target.write_text(render_pack(document, converted.unsupported if document is converted.document else []),
                          encoding="utf-8")
        written.append(target)
    return written


def _built(converted: dmn.DmnPack) -> tuple[PackSet | None, list[Diagnostic]]:
    if not converted.document:
        return None, []
    with tempfile.TemporaryDirectory() as tmp:
        write_dmn(converted, Path(tmp))
        return build_pack_set(Path(tmp))


def compiled_conversion(path: Path) -> tuple[dmn.DmnPack, PackSet | None, list[Diagnostic]]:
    """The model converted and its packs compiled. Where they do not compile, it is converted again with each
    decision compiled alone, and one that does not is refused by its element id (the rest is kept)."""
    converted = dmn.convert(path)
    packs, diagnostics = _built(converted)
    if packs is None and converted.document:
        converted = dmn.convert(path, each_decision=True)
        packs, diagnostics = _built(converted)
    return converted, packs, diagnostics


def import_dmn(path: Path, backend: str = "native") -> tuple[dmn.DmnPack, CompiledPack | None, list[str]]:
    """A DMN model converted and compiled as ``arbiter import dmn`` writes it (what it could convert), or why not."""
    converted, packs, diagnostics = compiled_conversion(path)
    if not converted.document:
        return converted, None, list(converted.unsupported) or ["no decision is converted"]
    if packs is None:
        return converted, None, [f"the converted pack does not compile: {d}" for d in diagnostics if d.severity == "error"]
    packs, _ = with_backend(packs, backend)  # a flow stays native; its decision packs switch
    return converted, packs.get(converted.document["pack"]), list(converted.unsupported)


@dataclass
class ModelOutcome:
    name: str
    problems: list[str]  # what the conversion refused, by element id
    passed: int = 0
    failures: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # "case id: why"

    def line(self) -> str:
        return f"{self.name}: {self.passed} passed, {len(self.failures)} failed, {len(self.unsupported)} unsupported"


def run_case(converted: dmn.DmnPack, pack: CompiledPack | None, case: Case, why_not: str) -> tuple[str, str]:
    """('passed' | 'failed' | 'unsupported', detail) of one TCK case."""
    reason = case.problem or _unsupported(converted, case)
    if reason is None and pack is None:
        reason = why_not
    if reason is not None or pack is None:
        return "unsupported", reason or why_not
    inputs = {converted.names[name]: value for name, value in case.inputs.items()}
    try:
        output = pack.decide(inputs, AS_OF).output
    except InputError as exc:  # DMN would coerce a mistyped input (a singleton list, null); a pack refuses it
        if case.errors and all(case.errors.values()):
            return "passed", ""
        return "unsupported", f"the pack refuses the case's input ({exc.problems[0].code}): DMN's coercions are not converted"
    except ArbiterError as exc:
        if case.errors and all(case.errors.values()):
            return "passed", ""
        if exc.code == "step-input" and "got NoneType" in exc.message:  # a list holding null, passed to a step
            return "unsupported", "a decision's list holds a null, which a pack's input does not take: DMN passes it on"
        if exc.code in REFUSALS:
            return "unsupported", f"the decision refuses to answer ({exc.code}): {exc.message}"
        return "failed", f"{exc.code}: {exc.message}"
    wrong = [f"{name}: expected {show(value)}, got {show(output.get(converted.names[name]))}"
             for name, value in case.expected.items() if not same(value, output.get(converted.names[name]))]
    return ("failed", "; ".join(wrong)) if wrong else ("passed", "")


def _unsupported(converted: dmn.DmnPack, case: Case) -> str | None:
    outputs = _output_names(converted)
    for name in case.expected:
        if name in converted.refused:
            return converted.refused[name]
        if converted.names.get(name) not in outputs:
            return f"result {name!r} is not a converted decision"
    inputs = converted.document.get("inputs", {})
    for name in case.inputs:
        if name in converted.refused:
            return converted.refused[name]
        if converted.names.get(name) not in inputs:
            return f"the case fixes {name!r}, which is not an input of the converted pack (a decision's value)"
    return None


def _output_names(converted: dmn.DmnPack) -> set[str]:
    return set(converted.document.get("outputs", {})) if converted.document else set()


def run_model(model: Path, case_files: list[Path], backend: str = "native") -> ModelOutcome:
    converted, pack, problems = import_dmn(model, backend)
    outcome = ModelOutcome(model.parent.name if model.stem == model.parent.name else f"{model.parent.name}/{model.stem}", problems)
    why_not = "; ".join(problems) or "the model is not converted"
    for case_file in case_files:
        for case in tck_cases(safe_xml.parse(case_file).getroot()):
            verdict, detail = run_case(converted, pack, case, why_not)
            if verdict == "passed":
                outcome.passed += 1
            elif verdict == "failed":
                outcome.failures.append(f"case {case.id}: {detail}")
            else:
                outcome.unsupported.append(f"case {case.id}: {detail}")
    return outcome


def suite_models(folder: Path) -> dict[Path, list[Path]]:
    """Each model a suite's test files name (``<modelName>``), with those files; imported models are not run alone."""
    models: dict[Path, list[Path]] = {}
    for case_file in sorted(folder.glob("*/*-test-*.xml")):
        name = safe_xml.parse(case_file).getroot().findtext(f"{TC}modelName") or ""
        models.setdefault(case_file.parent / name.strip(), []).append(case_file)
    return models


def run_suite(folder: Path) -> list[ModelOutcome]:
    return [run_model(model, files) for model, files in suite_models(folder).items()]


def report(suite: str, outcomes: list[ModelOutcome], verbose: bool = False) -> list[str]:
    """Lines of ``arbiter conformance``: per model its counts, failures, and why cases are unsupported."""
    lines = []
    for o in outcomes:
        lines.append(o.line())
        lines.extend(f"    failed {failure}" for failure in o.failures)
        reasons: Counter[str] = Counter(u.split(": ", 1)[1] for u in o.unsupported)
        for reason, count in reasons.most_common(None if verbose else 3):
            lines.append(f"    unsupported ({count}): {reason}")
    passed = sum(o.passed for o in outcomes)
    failed = sum(len(o.failures) for o in outcomes)
    unsupported = sum(len(o.unsupported) for o in outcomes)
    whole = sum(1 for o in outcomes if not o.unsupported and not o.problems)
    lines.append(f"{suite}: {len(outcomes)} models ({whole} converted whole); "
                 f"{passed} cases passed, {failed} failed, {unsupported} unsupported")
    return lines


def summary(outcomes: list[ModelOutcome]) -> dict[str, Any]:
    return {o.name: {"passed": o.passed, "failed": len(o.failures), "unsupported": len(o.unsupported)} for o in outcomes}
