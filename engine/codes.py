"""Codes handed from pack to pack (hold codes, exception codes, queues, approver levels), checked at both ends.

A code goes from a *producer* (a pack output whose tables set it to literal codes) to a
*router* (a pack input whose table rows test it). Two things join the ends into a channel:

- a shared vocabulary: both fields say ``vocabulary: hold_code``, declared once in
  ``vocabulary.yaml`` (``rules.vocabulary``), whatever flows run them;
- a flow's wiring of one step's output into a later step's input, for ends that do not
  share a vocabulary.

Every channel is checked the same way, on each date interval on which its ends' versions
run together: a code a router tests that no producer sets is ``code-not-produced`` at the
router's cell; a code a producer sets that no router row tests for is ``code-not-routed`` at
the producer's cell (a table's default does not route it; a row that ignores the code does). Each
message names the other end. A code a vocabulary field sets or tests that the vocabulary
does not declare is ``code-not-in-vocabulary``, naming the declaration.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.compiled import CompiledPack
from engine.dates import FIRST_DAY, LAST_DAY, Window, describe, window
from engine.registry import PackSet
from rules import syntax as s
from rules.analysis import Opaque, ValueSet, cell_set
from rules.errors import Diagnostic, Position, did_you_mean
from rules.ir import FieldShape, Symbol, SymbolKind, TableDef
from rules.vocabulary import Vocabularies, Vocabulary, find_file, load_vocabularies

EVERYTHING = ValueSet(frozenset(), True, True)
ALWAYS: Window = (FIRST_DAY, LAST_DAY)


@dataclass(frozen=True)
class Place:
    """Where, in one pack version, a code is set or tested (a positions key, with a fallback)."""

    pack: CompiledPack
    key: str
    fallback: str = ""

    @property
    def position(self) -> Position:
        positions = self.pack.ir.positions
        return positions.get(self.key) or positions.get(self.fallback) or Position(1, 1)

    def __str__(self) -> str:
        return f"{self.pack.ir.path}:{self.position}"


@dataclass
class Codes:
    """What one end sets or tests: each code with its places; a router's rows with the codes each accepts."""

    places: dict[str, list[Place]] = field(default_factory=dict)
    rows: list[tuple[Place, ValueSet]] = field(default_factory=list)
    complete: bool = True  # every code it can set is listed / every row's cell was read

    def add(self, code: object, place: Place) -> None:
        if isinstance(code, str):
            self.places.setdefault(code, []).append(place)


@dataclass(frozen=True)
class End:
    """A field of a pack (every version, or the pinned one): an output path, or an input name."""

    pack: str
    version: str | None
    path: tuple[str, ...]


@dataclass(frozen=True)
class Channel:
    producers: tuple[End, ...]
    routers: tuple[End, ...]
    span: Window
    through: str  # what joins the ends, for the messages
    vocabulary: Vocabulary | None = None


# What one end sets or tests, read off one pack version.


def produced(pack: CompiledPack, path: tuple[str, ...], vocabulary: str | None = None) -> Codes:
    """The codes output ``path`` (``hold_code``, or ``exceptions.exception`` of a list's elements) can be set to."""
    codes = Codes()
    out = next((f for f in pack.ir.outputs if f.name == path[0]), None)
    if out is None:
        codes.complete = False
    elif out.value is not None:
        _expression(pack, out.value, path[1:], codes, f"outputs.{path[0]}", vocabulary)
    elif out.source is not None:
        _symbol(pack, out.source, path[1:], codes)
    else:
        codes.complete = False
    return codes


def _expression(pack: CompiledPack, node: s.Node, sub: tuple[str, ...], codes: Codes, key: str, vocabulary: str | None) -> None:
    if isinstance(node, s.Literal) and not sub:
        codes.add(node.value, Place(pack, key))
        codes.complete = codes.complete and isinstance(node.value, str | None)
    elif isinstance(node, s.Name):
        _symbol(pack, node.symbol, sub, codes)
    elif isinstance(node, s.Conditional):
        _expression(pack, node.then, sub, codes, key, vocabulary)
        _expression(pack, node.otherwise, sub, codes, key, vocabulary)
    elif isinstance(node, s.Call) and node.function == "coalesce":
        for arg in node.args:
            _expression(pack, arg, sub, codes, key, vocabulary)
    elif not (vocabulary and _passed_on(pack, node, sub, vocabulary)):
        codes.complete = False


def _passed_on(pack: CompiledPack, node: s.Node, sub: tuple[str, ...], vocabulary: str) -> bool:
    """A flow passing a step's output on as it is: the step's field, when it shares the vocabulary, is the producer."""
    if not (isinstance(node, s.Member) and isinstance(node.target, s.Name)):
        return False
    step = next((st for st in pack.ir.steps if st.id == node.target.name), None)
    if step is None or pack.pack_set is None or step.pack not in pack.pack_set.packs:
        return False
    target = pack.pack_set.versions(step.pack)[-1]
    shape = _shape(target, "produce", (node.name, *sub))
    return shape is not None and shape.vocabulary == vocabulary


def _symbol(pack: CompiledPack, symbol: Symbol | None, sub: tuple[str, ...], codes: Codes) -> None:
    """The literal cells of the table column that sets ``symbol`` (a table output, or a field of a table's result)."""
    for table in pack.ir.all_tables:
        if symbol in table.output_symbols and not sub:
            _column(pack, table, table.output_symbols.index(symbol), codes)
            return
        if symbol is not None and symbol is table.result:
            names = sub or ((table.output_names[0],) if len(table.output_names) == 1 else ())
            if len(names) == 1 and names[0] in table.output_names:
                _column(pack, table, table.output_names.index(names[0]), codes)
                return
    codes.complete = False


def _column(pack: CompiledPack, table: TableDef, k: int, codes: Codes) -> None:
    name = table.output_names[k]
    cells = [(Place(pack, f"tables.{table.id}.{row.id}.then.{name}", f"tables.{table.id}.{row.id}"), row.outputs[k])
             for row in table.rows]
    if table.default is not None:
        cells.append((Place(pack, f"tables.{table.id}.default.{name}", f"tables.{table.id}"), table.default[k]))
    for place, cell in cells:
        if isinstance(cell, s.Literal) and isinstance(cell.value, str | None):
            codes.add(cell.value, place)
        else:
            codes.complete = False  # a cell that computes: which codes it sets is not read off the text


def routed(pack: CompiledPack, name: str) -> Codes:
    """The codes input ``name`` is tested for: each row's cell on a column that is the input as it is."""
    codes = Codes()
    for table in pack.ir.all_tables:
        for k, column in enumerate(table.columns):
            if not (isinstance(column.expr, s.Name) and column.expr.name == name
                    and getattr(column.expr.symbol, "kind", None) == SymbolKind.INPUT):
                continue
            for row in table.rows:
                test = row.tests[k]
                place = Place(pack, f"tables.{table.id}.{row.id}.when.{column.label}", f"tables.{table.id}.{row.id}")
                try:
                    accepted = cell_set(test, EVERYTHING)
                except Opaque:
                    codes.complete = False
                    continue
                assert isinstance(accepted, ValueSet)
                codes.rows.append((place, accepted))
                for code in accepted.values:
                    codes.add(code, place)
    return codes


# Channels: which ends are joined, and the dates on which their versions meet.


def _fields(shape_of: dict[str, FieldShape], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], FieldShape]]:
    for name, shape in shape_of.items():
        yield (*prefix, name), shape
        yield from _fields(shape.items or {}, (*prefix, name))


def vocabulary_ends(pack: CompiledPack) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(vocabulary, "produce" or "route", field path) of every field of ``pack`` that names a vocabulary."""
    for f in pack.ir.outputs:
        for path, shape in _fields({f.name: f.spec}):
            if shape.vocabulary:
                yield shape.vocabulary, "produce", path
    for f in pack.ir.inputs:
        if f.spec.vocabulary:
            yield f.spec.vocabulary, "route", (f.name,)


def slices(pack_set: PackSet, ends: tuple[End, ...], span: Window) -> Iterator[tuple[Window, dict[End, CompiledPack]]]:
    """Each interval of ``span`` with the version of each end's pack that runs on it (a pinned one always)."""
    versions = {e: tuple(p for p in pack_set.versions(e.pack) if e.version in (None, p.version)) for e in ends}
    cuts = sorted({*span, *(d for vs in versions.values() for p in vs for d in window(p) if span[0] < d < span[1])})
    for start, end in itertools.pairwise(cuts):
        chosen = {}
        for e, vs in versions.items():
            running = vs[:1] if e.version is not None else [p for p in vs if window(p)[0] <= start < window(p)[1]]
            if running:
                chosen[e] = running[-1]
        yield (start, end), chosen


def check_channel(pack_set: PackSet, channel: Channel, out: dict[tuple[str, str, str], Diagnostic]) -> None:
    """Codes routed that no producer sets, and codes set that no router tests for, on every interval, into ``out``
    (once per place and code, whichever channel finds it first)."""
    vocabulary = channel.vocabulary.name if channel.vocabulary is not None else None
    meetings = []
    for span, chosen in slices(pack_set, channel.producers + channel.routers, channel.span):
        made = [(e, chosen[e], produced(chosen[e], e.path, vocabulary)) for e in channel.producers if e in chosen]
        taken = [(e, chosen[e], routed(chosen[e], e.path[0])) for e in channel.routers if e in chosen]
        if made and taken:
            meetings.append((span, made, taken))
    for span, made, taken in meetings:
        when = "" if len(meetings) == 1 else f" {describe(span)}"  # dates only where the versions that meet change
        setters = ", ".join(f"{p.key} ({'.'.join(e.path)})" for e, p, _ in made)
        sets = {code for _, _, c in made for code in c.places}
        if all(c.complete for _, _, c in made):
            for e, pack, codes in taken:
                for code in sorted(set(codes.places) - sets):
                    for place in codes.places[code]:
                        first = _first_place(made)
                        out.setdefault((str(place), code, "code-not-produced"), _at(place, "code-not-produced",
                            f"{pack.key} routes {e.path[0]} {code!r}, which nothing sets{when}: {setters} set "
                            f"{', '.join(sorted(sets)) or 'no code'}{' at ' + str(first) if first else ''}; {channel.through}"))
        if all(c.complete for _, _, c in taken):
            rows = [row for _, _, c in taken for row in c.rows]
            testers = ", ".join(f"{p.key} ({e.path[0]}, {_table_place(p, c)})" for e, p, c in taken)
            for e, pack, codes in made:
                for code, places in sorted(codes.places.items()):
                    if any(not accepted.intersect(ValueSet(frozenset({code}), False, False)).empty for _, accepted in rows):
                        continue
                    for place in places:
                        out.setdefault((str(place), code, "code-not-routed"), _at(place, "code-not-routed",
                            f"{pack.key} sets {'.'.join(e.path)} {code!r}, which no row of {testers} tests for{when}; "
                            f"{channel.through}"))


def _first_place(made: list[tuple[End, CompiledPack, Codes]]) -> Place | None:
    return next((places[0] for _, _, c in made for places in c.places.values()), None)


def _table_place(pack: CompiledPack, codes: Codes) -> str:
    return str(codes.rows[0][0]) if codes.rows else pack.ir.path


def _at(place: Place, code: str, message: str) -> Diagnostic:
    return Diagnostic(place.pack.ir.path, place.position, code, message)


# Gathering the channels: by vocabulary, then by flow wiring.


def vocabulary_channels(pack_set: PackSet, files: dict[str, Vocabularies]) -> tuple[list[Channel], list[Diagnostic]]:
    """One channel per vocabulary used; every code each end sets or tests checked against the declaration."""
    groups: dict[tuple[str, str], tuple[Vocabulary, set[End], set[End]]] = {}
    out: list[Diagnostic] = []
    for pack in pack_set:
        found = files.get(pack.ir.path)
        for name, role, path in vocabulary_ends(pack):
            declared = found.entries.get(name) if found is not None else None
            place = Place(pack, ".".join(("outputs" if role == "produce" else "inputs", *_dotted(path), "vocabulary")))
            if declared is None:
                names = sorted(found.entries) if found is not None else []
                where = (f"{found.path} declares {', '.join(names) or 'none'}" if found is not None and found.path
                         else "there is no vocabulary.yaml at the packs' root or above")
                out.append(_at(place, "unknown-vocabulary", f"vocabulary {name!r} is not declared ({where}){did_you_mean(name, names)}"))
                continue
            out.extend(_undeclared(pack, role, path, declared, place))
            _, producers, routers = groups.setdefault((declared.path, name), (declared, set(), set()))
            (producers if role == "produce" else routers).add(End(pack.name, None, path))
    channels = [Channel(tuple(sorted(p, key=repr)), tuple(sorted(r, key=repr)), ALWAYS, f"vocabulary {v.name!r} ({v.where()})", v)
                for v, p, r in groups.values()]
    return channels, out


def _dotted(path: tuple[str, ...]) -> tuple[str, ...]:
    return (path[0], *itertools.chain.from_iterable(("items", p) for p in path[1:]))


def _undeclared(pack: CompiledPack, role: str, path: tuple[str, ...], vocabulary: Vocabulary, place: Place) -> list[Diagnostic]:
    """Codes this end sets or tests, or enum values it declares, that the vocabulary does not."""
    codes = produced(pack, path, vocabulary.name) if role == "produce" else routed(pack, path[0])
    shape = _shape(pack, role, path)
    for value in (shape.values or ()) if shape is not None else ():
        codes.add(value, place)
    out = []
    verb = "sets" if role == "produce" else "tests"
    for code, places in sorted(codes.places.items()):
        if code in vocabulary.codes:
            continue
        for where in dict.fromkeys(places):
            out.append(_at(where, "code-not-in-vocabulary",
                           f"{pack.key} {verb} {'.'.join(path)} {code!r}, which vocabulary {vocabulary.name!r} does not declare "
                           f"({vocabulary.where()}){did_you_mean(code, sorted(vocabulary.codes))}"))
    return out


def _shape(pack: CompiledPack, role: str, path: tuple[str, ...]) -> FieldShape | None:
    fields = {f.name: f.spec for f in (pack.ir.outputs if role == "produce" else pack.ir.inputs)}
    return dict(_fields(fields)).get(path)


def wiring_channels(pack_set: PackSet) -> tuple[list[Channel], list[Diagnostic]]:
    """A flow's step output wired as it is into a later step's input, unless one vocabulary already joins them."""
    channels: list[Channel] = []
    out: list[Diagnostic] = []
    for flow in pack_set:
        steps = {step.id: step for step in flow.ir.steps}
        for step in flow.ir.steps:
            for name, node in step.inputs.items():
                if not (isinstance(node, s.Member) and isinstance(node.target, s.Name) and node.target.name in steps):
                    continue
                source = steps[node.target.name]
                if source.pack not in pack_set.packs or step.pack not in pack_set.packs:
                    continue
                producer, router = End(source.pack, source.version, (node.name,)), End(step.pack, step.version, (name,))
                made, taken = _vocabulary_of(pack_set, producer, "produce"), _vocabulary_of(pack_set, router, "route")
                if made and taken and made != taken:
                    out.append(Diagnostic(flow.ir.path, flow.ir.positions.get(f"steps.{step.id}.inputs.{name}", Position(1, 1)),
                                          "vocabulary-mismatch", f"{flow.key} hands {source.pack}'s {node.name} (vocabulary "
                                          f"{made!r}) to {step.pack}'s {name} (vocabulary {taken!r})"))
                elif not (made and made == taken):
                    channels.append(Channel((producer,), (router,), window(flow), f"through {flow.key}"))
    return channels, out


def _vocabulary_of(pack_set: PackSet, end: End, role: str) -> str | None:
    pack = next((p for p in reversed(pack_set.versions(end.pack)) if end.version in (None, p.version)), None)
    shape = _shape(pack, role, end.path) if pack is not None else None
    return shape.vocabulary if shape is not None else None


def code_contracts(pack_set: PackSet) -> list[Diagnostic]:
    """Every channel's findings: by vocabulary (vocabulary.yaml nearest each pack) and by flow wiring."""
    root = Path(pack_set.root)
    by_file: dict[Path | None, Vocabularies] = {}
    files: dict[str, Vocabularies] = {}
    for pack in pack_set:
        file = find_file(Path(pack.ir.path), root)
        if file not in by_file:
            by_file[file] = load_vocabularies(file) if file is not None else Vocabularies(None)
        files[pack.ir.path] = by_file[file]
    out = [d for v in by_file.values() for d in v.diagnostics]
    channels, found_here = vocabulary_channels(pack_set, files)
    wired, mismatched = wiring_channels(pack_set)
    out += found_here + mismatched
    found: dict[tuple[str, str, str], Diagnostic] = {}
    for channel in channels + wired:
        check_channel(pack_set, channel, found)
    return out + list(found.values()) + unused_codes(pack_set, channels)


def unused_codes(pack_set: PackSet, channels: list[Channel]) -> list[Diagnostic]:
    """Declared codes that no version of any producer sets, when every producer's codes are known: stale after a rename."""
    out = []
    for channel in channels:
        vocabulary = channel.vocabulary
        if vocabulary is None or not channel.producers:
            continue
        every = [produced(pack, e.path, vocabulary.name) for e in channel.producers for pack in pack_set.versions(e.pack)]
        if not all(codes.complete for codes in every):
            continue
        sets = {code for codes in every for code in codes.places}
        for code in sorted(set(vocabulary.codes) - sets):
            out.append(Diagnostic(vocabulary.path, vocabulary.code_positions[code], "vocabulary-code-unused",
                                  f"no pack sets {vocabulary.name} {code!r}; remove it, or set it where it is meant"))
    return out
