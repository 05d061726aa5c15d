"""An imported zen graph decided end to end as zen answers it: one generated function per graph.

``JdmPack.request`` projects a zen request onto the pack's inputs, the pack validates them,
decides, and ``JdmPack.result`` rebuilds zen's nested document from the flat outputs: three
interpreted walks around a generated evaluation, most of the time an imported graph took.
Here the three are generated per graph, like the evaluation: the projection is the
validation itself (undeclared fields are dropped as they are read, which is what projecting
did), and the result is straight-line code writing each output at its zen path.

The longhands stay the reference: a request the generated validation does not take as it is
(an error, a renamed field) goes through them, so errors and their paths do not change, and
a graph that clears paths rebuilds its result with ``JdmPack.result``.
``tests/test_jdm_decide.py`` holds the two equal on every imported graph.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from engine.backend import NATIVE, load
from engine.codegen import Returning, generate
from engine.compiled import CompiledPack
from engine.inputs import compile_validator
from importers.jdm import JdmPack
from importers.jdm_types import ListOf, ObjectOf
from rules.errors import DecisionError
from rules.ir import FieldShape

Decide = Callable[[Any], Any]


def _same_shape(t: Any, spec: FieldShape) -> bool:
    """Whether projecting onto schema type ``t`` keeps exactly the fields ``spec`` declares, at every depth."""
    if isinstance(t, ObjectOf):
        return spec.type == "object" and _same_fields(t, spec.fields or {})
    if isinstance(t, ListOf):
        if isinstance(t.item, ObjectOf):
            return spec.type == "list" and spec.items is not None and _same_fields(t.item, spec.items)
        return spec.type == "list" and spec.items is None
    return spec.type not in ("object", "list")


def _same_fields(t: ObjectOf, fields: dict[str, FieldShape]) -> bool:
    own = dict(t.fields)
    return own.keys() == fields.keys() and all(_same_shape(own[k], spec) for k, spec in fields.items())


def _fused_validation(converted: JdmPack, pack: CompiledPack) -> Callable[[Any], dict[str, Any] | None] | None:
    """Validation that reads the zen request itself, dropping what the graph does not declare; None where it cannot."""
    declared = {f.name: f.spec for f in pack.ir.inputs}
    schema = converted.schema
    if converted.renamed or not isinstance(schema, ObjectOf):
        return None
    given = {k: declared.get(k) for k, _ in schema.fields}
    if any(spec is None for spec in given.values()) or not all(
            _same_shape(t, declared[k]) for k, t in schema.fields):
        return None
    if set(declared) - set(given) - ({converted.clock} if converted.clock else set()):
        return None
    fast: Callable[[Any], dict[str, Any] | None] = compile_validator(pack.ir.inputs, strict=False).fast  # type: ignore[attr-defined]
    return fast


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def fresh(self) -> str:
        self.count += 1
        return f"p{self.count}"

    def write(self, target: str, path: str, value: str, indent: str, parent: str | None = None) -> None:
        """``target[path] = value`` as ``JdmPack``'s nesting does it: a parent that is not an object is replaced by one.

        ``parent`` names a local that holds the path's parent object once one write made it:
        consecutive paths under one parent (``baseCosts.*``) walk to it once.
        """
        *parents, last = path.split(".")
        inner = indent
        if parent is not None:
            self.lines.append(f"{indent}if {parent} is None:")
            inner = indent + "    "
        for part in parents:
            nxt = self.fresh()
            self.lines += [f"{inner}{nxt} = {target}.get({part!r})",
                           f"{inner}if not isinstance({nxt}, dict):", f"{inner}    {nxt} = {target}[{part!r}] = {{}}"]
            target = nxt
        if parent is not None:
            self.lines.append(f"{inner}{parent} = {target}")
            target = parent
        self.lines.append(f"{indent}{target}[{last!r}] = {value}")


def _result_source(converted: JdmPack, value_of: Callable[[str], str] = lambda name: f"out.get({name!r})") -> list[str]:
    """The body rebuilding zen's document from ``request`` and the outputs (after ``JdmPack.result``).

    ``value_of`` gives the text reading an output's value: from the dict ``out``, or the
    evaluation's own local when the rebuilding is generated into it (``_fused``).
    """
    src = _Source()
    names = list(converted.paths)
    if converted.collect:
        if not names:
            return ["    return []"]
        src.lines += [f"    def row({', '.join(f'x{i}' for i in range(len(names)))}):", "        base = {}"]
        for i, name in enumerate(names):
            src.lines.append(f"        if x{i} is not None:")
            src.write("base", converted.paths[name], f"x{i}", "            ")
        src.lines += ["        return base",
                      "    return [row(*r) for r in zip(" + ", ".join(f"({value_of(n)} or [])" for n in names) + ")]"]
        return src.lines
    if converted.echo_request or converted.echo_output is not None:
        indent = "    "
        if converted.echo_output is not None:
            src.lines += [f"    if {value_of(converted.echo_output)} is not True:", "        base = {}", "    else:"]
            indent = "        "
        src.lines += [f"{indent}base = dict(request)", *_copied_parents(converted, indent)]
    else:
        src.lines.append("    base = {}")
    parent, run = None, ""
    for name, path in converted.paths.items():
        value = f"elements({name!r}, {value_of(name)})" if converted.element_paths.get(name) else value_of(name)
        prefix = path.rpartition(".")[0]
        if prefix and prefix != run:  # a run of paths under one parent starts: none has made it yet
            parent = src.fresh()
            src.lines.append(f"    {parent} = None")
        parent, run = (parent, prefix) if prefix else (None, "")
        src.lines += [f"    v = {value}", "    if v is not None:"]
        src.write("base", path, "v", "        ", parent)
    src.lines.append("    return base")
    return src.lines


def _copied_parents(converted: JdmPack, indent: str) -> list[str]:
    """The request's objects an output path goes through, copied before anything is written into them.

    The rest of the echoed request is shared with the result, not copied: zen's document
    is read, not edited, and copying a nested request cost more than deciding it.
    """
    parents = sorted({".".join(path.split(".")[:k]) for path in converted.paths.values()
                      for k in range(1, path.count(".") + 1)}, key=lambda p: p.count("."))
    lines = []
    names = {"": "base"}
    for k, prefix in enumerate(parents):
        *up, last = prefix.split(".")
        holder, var = names[".".join(up)], f"c{k}"
        names[prefix] = var
        found = f"{holder}.get({last!r})" if holder == "base" else f"{holder}.get({last!r}) if {holder} is not None else None"
        lines += [f"{indent}{var} = {found}",
                  f"{indent}if isinstance({var}, dict):", f"{indent}    {var} = {holder}[{last!r}] = dict({var})",
                  f"{indent}else:", f"{indent}    {var} = None"]
    return lines


_REBUILD_NAMES = re.compile(r"\b(base|v|row|request|[pcx]\d+)\b")  # the locals and parameter the rebuilding uses


def _fused(converted: JdmPack, pack: CompiledPack) -> Callable[..., Any] | None:
    """The evaluation with zen's document built from its locals: ``(values, as_of, request) -> document``.

    It skips the outputs' dict and a read per output. None where the plain path's checks
    would be skipped (whole-number output bounds), for flows, or where the evaluation's own
    locals could meet the rebuilding's.
    """
    if converted.cleared or pack.ir.steps or pack._integer_outputs or pack.backend is not NATIVE:
        return None
    if _REBUILD_NAMES.search(pack.source):
        return None
    locals_: dict[str, str] = {}

    def result(outputs: dict[str, str]) -> list[str]:
        locals_.update(outputs)
        return [line[4:] for line in _result_source(converted, lambda name: locals_[name])]

    source, constants = generate(pack.ir, returning=Returning(result, ("request",)))
    constants.update(isinstance=isinstance, dict=dict, zip=zip, elements=converted._elements)
    return load(source, constants, pack.key)


def _arithmetic(exc: ArithmeticError) -> Any:
    """What ``CompiledPack._plain`` makes of an arithmetic error."""
    raise DecisionError("arithmetic", f"arithmetic out of range: {type(exc).__name__}") from None


def compile_decider(converted: JdmPack, pack: CompiledPack, now: str, as_of: dt.date) -> Decide:
    """``request -> zen's document`` for one imported graph: what ``JdmPack.result(request, decided output)`` gives."""
    fast = _fused_validation(converted, pack)
    fused = _fused(converted, pack)
    namespace: dict[str, Any] = {
        "__builtins__": {}, "isinstance": isinstance, "dict": dict, "zip": zip,
        "elements": converted._elements, "longhand": converted.result, "fast": fast, "plain": pack._plain,
        "NOW": now, "AS_OF": as_of, "fused": fused, "ArithmeticError": ArithmeticError, "arithmetic": _arithmetic,
        "slow": lambda request: pack.validate(converted.request(request, now)),
    }
    lines = ["def decide(request):"]
    if fast is None:
        lines.append("    values = slow(request)")
    else:
        given = f"{{**request, {converted.clock!r}: NOW}}" if converted.clock else "request"
        lines += [f"    values = fast({given}) if request.__class__ is dict else None",
                  "    if values is None:", "        values = slow(request)"]
    if fused is not None:
        lines += ["    try:", "        return fused(values, AS_OF, request)", "    except ArithmeticError as exc:",
                  "        return arithmetic(exc)"]
    else:
        lines.append("    out = plain(values, AS_OF)[0]")
        lines += ["    return longhand(request, out)"] if converted.cleared else _result_source(converted)
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<arbiter zen graph {pack.key}>", "exec"), namespace)  # noqa: S102 - paths only as repr'd literals
    decide: Decide = namespace["decide"]
    decide.source = source  # type: ignore[attr-defined]
    return decide
