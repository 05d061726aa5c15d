"""Converting GoRules JDM decision graphs into pack YAML.

A JDM graph passes one untyped JSON document from node to node; a pack is typed and flat.
The conversion therefore (types and schema inference in ``importers.jdm_types``, expressions in
``importers.jdm_translate``):

- infers the input schema from the graph's embedded test inputs (the only typed evidence a
  graph carries), keeping only the fields the graph reads;
- turns every decision-table node into a table, every expression node into a one-row table
  (so that it runs in graph order, after the tables it reads), every switch node into a
  table whose outputs guard the nodes behind its branches, and every loop-mode node into a
  ``for_each`` section;
- names each written path (``evaluation.score``) as a flat output (``evaluation_score``);
  ``JdmPack.paths`` maps them back, and ``JdmPack.result`` rebuilds the nested document
  that zen would return (the request itself included where every node passes it through).

What cannot be carried over is reported with the node id, never dropped: function
(JavaScript) nodes, and constructs without a typed equivalent (values built or indexed by
computed keys, times of day). docs/import.md lists them and the semantic choices.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importers.jdm_syntax import Node, ZenSyntaxError, parse_zen
from importers.jdm_translate import FIELD_NAME, Translator, cell_types, compared, path_of, simple_path, walk
from importers.jdm_types import (
    BOOLEAN,
    ISO_DATE,
    MIXED,
    NULL,
    NUMBER,
    RESERVED,
    STRING,
    Context,
    ListOf,
    ObjectOf,
    Schema,
    Unsupported,
    Written,
    field_spec,
    join_types,
)
from rules.emit import identifier, render_pack


@dataclass
class JdmPack:
    document: dict[str, Any]
    paths: dict[str, str] = field(default_factory=dict)  # output name -> JDM path
    echo_request: bool = False
    echo_output: str | None = None  # where the branch taken decides it: the output that says whether zen returns the request
    collect: bool = False  # the graph ends in a collect table: the result is a list
    unsupported: list[str] = field(default_factory=list)
    schema: Any = None  # ObjectOf of the declared inputs
    cleared: list[str] = field(default_factory=list)  # paths the graph sets to null
    nulled: list[str] = field(default_factory=list)  # of those, the ones it always sets (not behind a switch)
    renamed: dict[str, str] = field(default_factory=dict)  # request field -> input name, where the name is a keyword
    clock: str | None = None  # the input that holds the moment zen reads from its clock (date('now'))
    absent: list[str] = field(default_factory=list)  # paths read as null: no test gives them, nothing types them
    element_paths: dict[str, dict[str, str]] = field(default_factory=dict)  # list output -> element key -> zen path
    notes: list[str] = field(default_factory=list)  # what the YAML header says of the conversion

    def request(self, document: dict[str, Any], now: str | None = None) -> dict[str, Any]:
        """The part of a JDM request this pack declares (zen ignores the rest too), and ``now`` if it reads the clock."""
        projected: dict[str, Any] = _project(document, self.schema)
        out = {self.renamed.get(k, k): v for k, v in projected.items()} if self.renamed else projected
        if self.clock is not None and now is not None:
            out[self.clock] = now
        return out

    def remarks(self) -> list[str]:
        """What was converted faithfully but may surprise whoever edits the pack: fields read as null, rewritten comparisons."""
        absent = [f"{what} is read, but no test request gives it and nothing in the graph says its type: it reads as null,"
                  " and a request that gives it is refused as an undeclared field" for what in self.absent]
        return absent + self.notes

    def result(self, request: dict[str, Any], outputs: dict[str, Any]) -> Any:
        """The document zen returns, rebuilt from a decision's outputs."""
        if self.collect:
            names = list(self.paths)
            rows = zip(*(outputs[n] or [] for n in names), strict=False) if names else iter(())
            return [_nest([(self.paths[n], v) for n, v in zip(names, row, strict=True)], {}) for row in rows]
        echo = self.echo_request or (self.echo_output is not None and outputs.get(self.echo_output) is True)
        base: dict[str, Any] = copy.deepcopy(request) if echo else {}
        for path in self.cleared:
            *parents, last = path.split(".")
            builds = path in self.nulled  # a null written at a.b makes a an object, as zen's write does
            target: Any = base
            for part in parents:
                if builds and isinstance(target, dict) and not isinstance(target.get(part), dict):
                    target[part] = {}
                target = target.get(part) if isinstance(target, dict) else None
            if isinstance(target, dict):
                target.pop(last, None)
        return _nest([(self.paths[n], self._elements(n, outputs.get(n))) for n in self.paths], base)

    def _elements(self, name: str, value: Any) -> Any:
        """A loop's list with each element's renamed or flattened keys put back at zen's paths."""
        paths = self.element_paths.get(name)
        if not paths or not isinstance(value, list):
            return value
        out = []
        for element in value:
            element = dict(element)
            moved = [(path, element.pop(key)) for key, path in paths.items() if key in element]
            out.append(_nest(moved, element))
        return out


def _nest(values: list[tuple[str, Any]], base: dict[str, Any]) -> dict[str, Any]:
    for path, value in values:
        if value is None:
            continue  # zen leaves a path unset where no row matched
        target = base
        *parents, last = path.split(".")
        for part in parents:
            nxt = target.get(part)
            if not isinstance(nxt, dict):
                nxt = target[part] = {}
            target = nxt
        target[last] = value
    return base


def _project(value: Any, t: Any) -> Any:
    if isinstance(t, ObjectOf) and isinstance(value, dict):
        return {k: _project(value[k], sub) for k, sub in t.fields if k in value}
    if isinstance(t, ListOf) and isinstance(value, list):
        return [_project(v, t.item) for v in value]
    return value


def _row_id(raw: str, k: int) -> str:
    text = re.sub(r"[^A-Za-z0-9_.\-]", "_", raw or "").lstrip("_.-")[:64]
    return text or f"r{k + 1}"

# The graph.


class _Graph:
    def __init__(self, graph: dict[str, Any], name: str) -> None:
        self.nodes = {n["id"]: n for n in graph.get("nodes", [])}
        self.edges = graph.get("edges", [])
        self.name = name
        self.tests = [t for t in graph.get("tests", []) or [] if isinstance(t.get("input"), dict)]
        self.schema = Schema([t["input"] for t in self.tests])
        self.taken: set[str] = set()
        self.tables: list[dict[str, Any]] = []
        self.sections: list[dict[str, Any]] = []  # loop nodes, as for_each sections
        self.renamed: dict[str, str] = {}  # request fields that are keywords -> their input names
        self.clock_name: str | None = None  # the input date('now') reads, once a node asks for it
        self.absent: list[str] = []  # paths read that no test gives and nothing types: null (absent_read)
        self.element_paths: dict[str, dict[str, str]] = {}  # section id -> element key -> zen path, where they differ
        self.notes: list[str] = []  # for the YAML header (note)
        self.node_outputs: dict[str, Context] = {}  # node name -> what it returned (ran)
        self.ambiguous: set[str] = set()  # node names several nodes share: $nodes cannot tell them apart
        self.unsupported: list[str] = []
        self.switches: dict[str, str | dict[str, str]] = {}  # switch id -> the branch it takes, or (collect) per branch
        self.table_ids: dict[str, str] = {}  # node id -> table id
        self.row_ids: set[str] = set()
        self._find_dates(graph)
        self._find_hints()

    def _find_hints(self) -> None:
        """Type the fields no test gives by what the graph compares them with: a column of '>= 750' is a number."""
        found: dict[str, set[Any]] = {}
        for node in self.nodes.values():
            content = node.get("content")
            if not isinstance(content, dict):
                continue
            for spec in content.get("inputs", []) or []:
                path = simple_path(spec.get("field") or "")
                for rule in content.get("rules", []) or []:
                    cell = str(rule.get(spec.get("id"), "") or "").strip()
                    if path and cell and cell != "-":
                        found.setdefault(path, set()).update(cell_types(cell))
            texts = [e.get("value") or "" for e in content.get("expressions", []) or []]
            texts += [str(v) for rule in content.get("rules", []) or [] for v in rule.values()]
            for text in texts:
                try:
                    tree = parse_zen(text)
                except ZenSyntaxError:
                    continue
                for path, t in compared(tree):
                    found.setdefault(path, set()).add(t)
        for path, types in found.items():
            if len(types) == 1 and self.schema.lookup(path) is None:
                self.schema.hints[path] = types.pop()

    def _find_dates(self, graph: dict[str, Any]) -> None:
        for path in re.findall(r"\bdate\(\s*([A-Za-z_][\w.]*)\s*\)", json.dumps(graph.get("nodes", []))):
            values = self._values(path)
            if values and all(isinstance(v, str) and ISO_DATE.match(v) for v in values):
                self.schema.dates.add(path)

    def _values(self, path: str) -> list[Any]:
        out = []
        for test in self.tests:
            value: Any = test["input"]
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                out.append(value)
        return out

    def name_for(self, wanted: str) -> str:
        base = identifier(wanted)
        name, k = base, 2
        while name in self.taken or name in RESERVED or name in dict(self.schema.type.fields):
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def row_id(self, table: str, raw: str, k: int) -> str:
        """The source's rule id, kept where it is unique in the pack, else prefixed by its table."""
        candidate = _row_id(raw, k)
        if candidate in self.row_ids:
            candidate = _row_id(f"{table}.{candidate}", k)
        while candidate in self.row_ids:
            candidate = f"{candidate}_"
        self.row_ids.add(candidate)
        return candidate

    def table_id(self, node: dict[str, Any]) -> str:
        name = node.get("name") or node["id"]
        base = identifier(name if re.search(r"[A-Za-z]{3}", name) else node["id"])
        candidate, k = base, 2
        while candidate in self.table_ids.values():
            candidate, k = f"{base}_{k}", k + 1
        self.table_ids[node["id"]] = candidate
        return candidate

    def is_date(self, path: str) -> bool:
        return path in self.schema.dates

    def ran(self, node: dict[str, Any], after: Context) -> None:
        """Record what a node returned, for ``$nodes.<its name>`` in the nodes after it."""
        name = str(node.get("name"))
        if name in self.node_outputs:
            self.ambiguous.add(name)
        self.node_outputs[name] = after

    def node_output(self, name: str, path: str) -> tuple[str, Any]:
        """``$nodes.expression2.L1``: a path of what an earlier node returned, read as the node after it would."""
        if name in self.ambiguous:
            raise Unsupported(f"$nodes.{name}: several nodes have that name")
        if name not in self.node_outputs:
            raise Unsupported(f"$nodes.{name}: no node of that name has run before")
        return self.read(path, self.node_outputs[name])

    def built_object(self, path: str, context: Context) -> tuple[str, Any]:
        """An object several outputs built (``dispatch.weather.flag``, ``dispatch.weather.reason``): a record of them.

        zen leaves a key unset where no row set it, where a record would hold null: so every
        value in it must come from a table that always sets it (a row without conditions, not
        behind a switch), and the request must not hold an object there to merge with.
        """
        full = context.scope + path
        if context.request and self.schema.lookup(full) is not None:
            raise Unsupported(f"'{path}' reads an object built by several outputs over one the request gives")
        for written, candidates in context.written.items():
            if written.startswith(full + ".") and not all(self.always_set(w.name) for w in candidates):
                raise Unsupported(f"'{path}' reads an object built by outputs that rows set only when they match")
        parts: list[str] = []
        fields: list[tuple[str, Any]] = []
        for sub in self.children(path, context):
            text, t = self.read(f"{path}.{sub}", context)
            parts.append(f"{sub}: {text}")
            fields.append((sub, t))
        return "{" + ", ".join(parts) + "}", ObjectOf(tuple(fields))

    def always_set(self, name: str) -> bool:
        """Whether the table that writes output ``name`` sets it on every decision: a row without conditions does."""
        table = next((t for t in self.tables if name in t.get("outputs", [])), None)
        return table is not None and any(not row.get("when") and name in row.get("then", {}) for row in table["rows"])

    def request_node(self) -> str | None:
        """The input node's name, by which ``$nodes`` reads the request as given."""
        return next((str(n.get("name")) for n in self.nodes.values() if n.get("type") == "inputNode"), None)

    def note(self, text: str) -> None:
        """Something converted faithfully that the graph's author likely did not mean: the YAML header says it."""
        if text not in self.notes:
            self.notes.append(text)

    def absent_read(self, what: str) -> tuple[str, Any]:
        """A path no test request gives and nothing in the graph types: zen reads it as null, and so does the pack.

        It is not declared, so a request that does give it is refused as an undeclared field
        rather than answered differently; the YAML header lists it.
        """
        if what not in self.absent:
            self.absent.append(what)
        return "null", NULL

    def read(self, path: str, context: Context) -> tuple[str, Any]:
        if context.item is not None:  # inside a loop node: the element's fields, by name
            t: Any = context.item
            for part in path.split("."):
                t = t.get(part) if isinstance(t, ObjectOf) else None
                if t is None:
                    return self.absent_read(f"each element's {path}")
            if t == MIXED or not all(FIELD_NAME.match(part) for part in path.split(".")):
                raise Unsupported(f"the list elements' field '{path}' cannot be declared")
            return path, t
        path = context.scope + path
        candidates = context.written.get(path)
        candidates = [w for w in candidates or [] if w.type != NULL]
        if path in context.written and not candidates:
            return "null", NULL
        if candidates:
            names = [w.name for w in reversed(candidates)]
            t = candidates[-1].type
            return (names[0] if len(names) == 1 else f"coalesce({', '.join(names)})"), t
        if any(p.startswith(path + ".") for p in context.written):
            return self.built_object(path, context)
        for written, writes in context.written.items():
            if path.startswith(written + "."):
                if all(w.type == NULL for w in writes):  # 'patient = null': zen reads patient.conditions as null
                    return "null", NULL
                raise Unsupported(f"'{path}' reads into '{written}', which a node wrote as a whole")
        if not context.request:
            raise Unsupported(f"'{path}' is read after a node that does not pass the request on")
        t = self.schema.lookup(path)
        if t is None:
            return self.absent_read(path)
        if t == MIXED:
            raise Unsupported(f"the test inputs give '{path}' values of different types")
        parts = path.split(".")
        if any(not FIELD_NAME.match(part) for part in parts):
            raise Unsupported(f"'{path}' is not a name a pack can declare")
        self.schema.mark_read(path)
        # only a top-level name can clash with the language (fields are read by subscript): rename it
        if parts[0] in RESERVED:
            parts[0] = self.input_name(parts[0])
        return ".".join(parts), t

    def children(self, path: str, context: Context) -> list[str]:
        """The fields of an object the graph built field by field (``path.x`` written, ``path`` not), in write order."""
        if context.item is not None:
            return []
        prefix = context.scope + path + "."
        return list(dict.fromkeys(p[len(prefix):].split(".")[0] for p in context.written if p.startswith(prefix)))

    def clock(self) -> str:
        """The input a converted ``date('now')`` reads: the caller gives the moment, the pack never reads a clock."""
        if self.clock_name is None:
            candidate, k = "now", 2
            while candidate in self.taken or candidate in dict(self.schema.type.fields) or candidate in self.renamed.values():
                candidate, k = f"now_{k}", k + 1
            self.taken.add(candidate)
            self.clock_name = candidate
        return self.clock_name

    def input_name(self, field_name: str) -> str:
        """The input a request field that is a keyword of the language is declared as (``class`` -> ``class_input``)."""
        if field_name not in self.renamed:
            candidate, k = f"{field_name}_input", 2
            while candidate in dict(self.schema.type.fields) or candidate in self.renamed.values():
                candidate, k = f"{field_name}_input_{k}", k + 1
            self.renamed[field_name] = candidate
            self.taken.add(candidate)
        return self.renamed[field_name]


def _order(graph: _Graph) -> list[str]:
    incoming: dict[str, list[dict[str, Any]]] = {n: [] for n in graph.nodes}
    for edge in graph.edges:
        if edge.get("targetId") in incoming and edge.get("sourceId") in graph.nodes:
            incoming[edge["targetId"]].append(edge)
    order: list[str] = []
    done: set[str] = set()
    pending = list(graph.nodes)
    while pending:
        ready = [n for n in pending if all(e["sourceId"] in done for e in incoming[n])]
        if not ready:
            raise Unsupported("the graph has a cycle")
        for n in ready:
            order.append(n)
            done.add(n)
            pending.remove(n)
    return order


def convert_graph(graph: dict[str, Any], name: str) -> JdmPack:
    g = _Graph(graph, name)
    pack = JdmPack({})
    try:
        _convert(g, pack)
    except Unsupported as exc:
        pack.unsupported.append(str(exc))
    except ZenSyntaxError as exc:
        pack.unsupported.append(f"expression syntax: {exc}")
    pack.unsupported = g.unsupported + pack.unsupported
    return pack


def _convert(g: _Graph, pack: JdmPack) -> None:
    for node in g.nodes.values():
        if node["type"] not in ("inputNode", "outputNode", "decisionTableNode", "expressionNode", "switchNode"):
            g.unsupported.append(f"node {node['id']} ({node.get('name')}): {node['type']} is not supported")
    if g.unsupported:
        return
    order = _order(g)
    incoming: dict[str, list[dict[str, Any]]] = {n: [] for n in g.nodes}
    for edge in g.edges:
        if edge.get("targetId") in incoming:
            incoming[edge["targetId"]].append(edge)
    out_context: dict[str, Context] = {}
    guards: dict[str, list[tuple[str, Any]]] = {}
    final: list[str] = []
    for node_id in order:
        node = g.nodes[node_id]
        content = node.get("content") or {}
        parents = incoming[node_id]
        # zen merges a node's parents in the reverse order of their edges in the file: that order is
        # the order of an object's keys, and where parents write the same path the first edge wins
        context = _merge([out_context[e["sourceId"]] for e in reversed(parents)]) if parents else Context({}, True)
        # an output node only merges what its branches wrote, each value already guarded
        guard = [] if node["type"] == "outputNode" else _guard(g, node_id, parents, guards)
        where = f"node {node_id} ({node.get('name')})"
        try:
            if node["type"] == "inputNode":
                out_context[node_id] = Context({}, True)
            elif node["type"] == "outputNode":
                out_context[node_id] = context
                final.append(node_id)
            elif node["type"] == "switchNode":
                out_context[node_id] = context
                _switch(g, node, context, guard)
            elif content.get("inputField") or content.get("outputPath") or content.get("executionMode") == "loop":
                out_context[node_id] = _scoped(g, node, content, context, guard)
            elif node["type"] == "decisionTableNode":
                out_context[node_id] = _table(g, node, content, context, guard)
            else:
                out_context[node_id] = _expressions(g, node, content, context, guard)
            guards[node_id] = guard
            g.ran(node, out_context[node_id])
        except (Unsupported, ZenSyntaxError) as exc:
            raise Unsupported(f"{where}: {exc}") from None
    # zen returns what the last nodes it ran return: output nodes, and branches that end elsewhere
    final += [n for n in order if g.nodes[n]["type"] not in ("outputNode", "inputNode")
              and not any(e.get("sourceId") == n for e in g.edges)]
    echoes = {out_context[n].request for n in final}
    echo_output = None
    if len(echoes) > 1 and any(out_context[n].request and _reached_conditionally(g, n, incoming[n], guards) for n in final):
        echo_output = _echo_table(g, [_guard(g, n, incoming[n], guards) for n in final if out_context[n].request])
    result = _merge([out_context[n] for n in final]) if final else Context({}, True)
    pack.collect = any(t.get("hit_policy") == "collect" and "result" not in t for t in g.tables)
    if pack.collect and len(g.tables) != 1:
        raise Unsupported("a collect table that is not the graph's only node")
    outputs: dict[str, Any] = {}
    for path, candidates in result.written.items():
        for w in candidates:
            if w.type == NULL:
                pack.cleared.append(path)  # set to null: it hides the request's value
                if not w.guarded and len(candidates) == 1:
                    pack.nulled.append(path)  # always written: zen builds the objects above it
                continue
            spec = field_spec(w.type, path)
            name = w.name
            if w.section:  # a for_each result: an output listing each element's fields
                name = g.name_for(path)
                spec["value"] = w.name
                if g.element_paths.get(w.name):
                    pack.element_paths[name] = g.element_paths[w.name]
            outputs[name] = {"type": "list", "of": spec["type"]} if pack.collect else {**spec, "optional": True}
            pack.paths[name] = path
    if not outputs:
        raise Unsupported("the graph writes no value")
    pack.echo_request = result.request and echo_output is None
    if echo_output is not None:
        outputs[echo_output] = {"type": "boolean"}
        pack.echo_output = echo_output
    inputs = g.schema.fields()
    pack.schema = g.schema.declared(inputs)
    pack.renamed = dict(g.renamed)
    pack.absent = list(g.absent)
    pack.notes = list(g.notes)
    inputs = {g.renamed.get(k, k): v for k, v in inputs.items()}
    if g.clock_name is not None:
        pack.clock = g.clock_name
        inputs[g.clock_name] = {"type": "string", "max_length": 64,
                                "description": "the moment zen reads from its clock for date('now'), as an ISO 8601 date-time"}
    pack.document = {
        "pack": identifier(g.name).replace("__", "_"),
        "version": "1.0.0",
        "description": f"Converted from the GoRules JDM graph {g.name}",
        "owner": "jdm-import",
        "inputs": inputs,
        **({"for_each": g.sections} if g.sections else {}),
        **({"tables": g.tables} if g.tables else {}),
        "outputs": outputs,
    }


def _merge(contexts: list[Context]) -> Context:
    written: dict[str, list[Written]] = {}
    for context in contexts:
        for path, candidates in context.written.items():
            merged = written.setdefault(path, [])
            merged.extend(w for w in candidates if w not in merged)
    return Context(written, any(c.request for c in contexts) if contexts else True)


def _reached_conditionally(g: _Graph, node_id: str, parents: list[dict[str, Any]],
                           guards: dict[str, list[tuple[str, Any]]]) -> bool:
    return bool(guards.get(node_id)) or any(
        guards.get(e["sourceId"]) or (e.get("sourceHandle") and e["sourceId"] in g.switches) for e in parents)


def _echo_table(g: _Graph, ways: list[list[tuple[str, Any]]]) -> str:
    """A last one-row table whose output says whether zen returns the request: one of ``ways`` (switch branches) was taken.

    An output node reached straight from a switch branch returns the request that the switch
    passed on, while the other branches return only what their nodes wrote.
    """
    name = g.name_for("echo_request")
    tests = [" and ".join(f"{branch} = {json.dumps(value)}" for branch, value in way) or "true" for way in ways]
    table_id = g.table_id({"id": name, "name": name})
    g.tables.append({"id": table_id, "description": "whether the graph returns the request: the branch taken decides",
                     "hit_policy": "first", "inputs": [], "outputs": [name],
                     "rows": [{"id": g.row_id(table_id, "echo", 0), "when": {}, "then": {name: "=" + " or ".join(f"({t})" for t in tests)}}]})
    return name


def _guard(g: _Graph, node_id: str, parents: list[dict[str, Any]], guards: dict[str, list[tuple[str, Any]]]) -> list[tuple[str, Any]]:
    options = []
    for edge in parents:
        guard = list(guards.get(edge["sourceId"], []))
        handle = edge.get("sourceHandle")
        switch = g.switches.get(edge["sourceId"])
        if handle and isinstance(switch, dict):  # a collect switch: one true-or-false output per branch
            guard.append((switch[handle], True))
        elif handle and isinstance(switch, str):
            guard.append((switch, handle))
        options.append(guard)
    if not options:
        return []
    if all(o == options[0] for o in options):
        return options[0]
    if any(not o for o in options):
        return []  # one way in is unconditional: the node always runs
    # reached from several branches: it runs when any of them is taken
    tests = [" and ".join(f"{name} = {json.dumps(value)}" for name, value in o) for o in options]
    return [(" or ".join(f"({t})" for t in tests), True)]


def _switch(g: _Graph, node: dict[str, Any], context: Context, guard: list[tuple[str, Any]]) -> None:
    content = node.get("content") or {}
    policy = content.get("hitPolicy", "first")
    if policy == "collect":
        _collect_switch(g, node, content, context, guard)
        return
    if policy != "first":
        raise Unsupported(f"a switch with hit policy {policy!r}")
    name = g.name_for(f"{node.get('name') or node['id']}_branch")
    table_id = g.table_id(node)
    g.switches[node["id"]] = name
    rows = []
    columns = [{"name": "condition", "expr": "true"}]
    for k, statement in enumerate(content.get("statements", [])):
        condition = (statement.get("condition") or "").strip()
        when = {}
        if condition and not statement.get("isDefault"):
            text, _ = Translator(g, context).expr(parse_zen(condition))
            when["condition"] = text
        rows.append({"id": g.row_id(table_id, statement.get("id", ""), k), "when": when, "then": {name: statement["id"]}})
    default_rows = [r for r, s in zip(rows, content.get("statements", []), strict=True) if s.get("isDefault")]
    rows = [r for r in rows if r not in default_rows] + default_rows  # zen tries the default last
    table = {"id": table_id, "description": f"switch node {node['id']}", "hit_policy": "first",
             "inputs": columns, "outputs": [name], "rows": rows}
    _add_guard(table, guard)
    g.tables.append(table)


def _collect_switch(g: _Graph, node: dict[str, Any], content: dict[str, Any], context: Context,
                    guard: list[tuple[str, Any]]) -> None:
    """A switch that takes every branch whose condition holds: one true-or-false output per branch.

    As zen-engine does, a branch without a condition is always taken, the default one included.
    """
    table_id = g.table_id(node)
    branches: dict[str, str] = {}
    then: dict[str, str] = {}
    for k, statement in enumerate(content.get("statements", [])):
        condition = (statement.get("condition") or "").strip()
        text = Translator(g, context).expr(parse_zen(condition))[0] if condition else "true"
        branches[statement["id"]] = g.name_for(f"{node.get('name') or node['id']}_branch_{k + 1}")
        then[branches[statement["id"]]] = f"=({text}) = true"
    g.switches[node["id"]] = branches
    table = {"id": table_id, "description": f"switch node {node['id']} (every true branch)", "hit_policy": "first",
             "inputs": [], "outputs": list(then), "rows": [{"id": g.row_id(table_id, "branches", 0), "when": {}, "then": then}]}
    _add_guard(table, guard)
    g.tables.append(table)


def _add_guard(table: dict[str, Any], guard: list[tuple[str, Any]]) -> None:
    for k, (name, value) in enumerate(guard):
        column = f"branch_{k + 1}" if len(guard) > 1 else "branch"
        table["inputs"].insert(k, {"name": column, "expr": name})
        for row in table["rows"]:
            row["when"] = {column: json.dumps(value), **row["when"]}


def _write(g: _Graph, context: Context, path: str, t: Any, written: dict[str, list[Written]], guarded: bool,
           passes_through: bool) -> str:
    """Record that a node writes ``path``; a guarded node that passes its input on keeps the earlier value as the fallback.

    A node without passThrough returns only what it sets, so when its branch is not taken
    nothing it could have overwritten reaches the output through it.
    """
    path = context.out + path
    name = g.name_for(path)
    entry = Written(name, t, guarded=guarded)
    if guarded and passes_through and path in context.written:
        written[path] = [*context.written[path], entry]
    else:
        written[path] = [entry]
    return name


def _after(context: Context, content: dict[str, Any], written: dict[str, list[Written]]) -> Context:
    if content.get("passThrough") is not True:  # zen's default: a node returns only what it sets
        return Context(written, False)
    merged = {p: c for p, c in context.written.items() if not any(p == w or p.startswith(w + ".") for w in written)}
    merged.update(written)
    return Context(merged, context.request)


def _check_mode(content: dict[str, Any]) -> None:
    if (content.get("executionMode") or "single") != "single":
        raise Unsupported("a loop inside a loop")


def _scoped(g: _Graph, node: dict[str, Any], content: dict[str, Any], context: Context,
            guard: list[tuple[str, Any]]) -> Context:
    """A node with inputField/outputPath or in loop mode: a scoped single node, or a for_each section."""
    field_text = (content.get("inputField") or "").strip()
    out_path = (content.get("outputPath") or "").strip()
    if out_path and not re.match(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$", out_path):
        raise Unsupported(f"outputPath {out_path!r}")
    run = _table if node["type"] == "decisionTableNode" else _expressions
    single = {**content, "executionMode": "single", "inputField": None, "outputPath": None}
    if (content.get("executionMode") or "single") == "single":
        if field_text and not simple_path(field_text):
            raise Unsupported(f"inputField {field_text!r} that is not a path")
        if run is _table and content.get("hitPolicy") == "collect" and out_path and not field_text:
            return _collected_list(g, node, content, context, guard, out_path)
        scope = f"{field_text}." if field_text else ""
        inner = Context(context.written, context.request, scope, f"{out_path}." if out_path else "")
        after = run(g, node, single, inner, guard)
        return Context(after.written, after.request)
    if not field_text or not out_path:
        raise Unsupported("loop mode without inputField and outputPath")
    if guard:
        raise Unsupported("a loop node behind a switch (lists are decided before the graph's tables)")
    source = parse_zen(field_text)
    for n in walk(source):
        path = path_of(n) if n[0] in ("name", "member") else None
        if path and any(path == w or path.startswith(w + ".") or w.startswith(path + ".") for w in context.written):
            raise Unsupported("a loop over values the graph computed (lists are decided before the graph's tables)")
    over, list_type = Translator(g, Context({}, True)).expr(source)
    if not isinstance(list_type, ListOf) or not isinstance(list_type.item, ObjectOf):
        raise Unsupported("a loop over a value that is not a list of objects")
    saved, g.tables = g.tables, []
    try:
        after = run(g, node, single, Context({}, False, item=list_type.item), [])
        tables = g.tables
    finally:
        g.tables = saved
    kept = [(path, w) for path, candidates in after.written.items() for w in candidates]
    if any(t.get("hit_policy") != "first" for t in tables):
        raise Unsupported("a collect table in loop mode")
    section_id = g.name_for(f"{out_path}_each")
    g.sections.append({"id": section_id, "over": over, "description": f"loop node {node['id']}", "tables": tables,
                       "keep": [w.name for _, w in kept]})
    # each element gets the kept values by their pack names; the rebuilt result puts them at zen's paths
    # (a name taken by another node is renamed, a nested path is flattened: additionalCoverage_amount)
    g.element_paths[section_id] = {w.name: path for path, w in kept if w.name != path}
    fields = dict(list_type.item.fields) if content.get("passThrough") is True else {}
    for path, w in kept:
        if w.name != path:  # the element's own field of that name is stale now: a later read of it is refused
            fields.pop(path.split(".")[0], None)
        fields[w.name] = w.type
    written = {out_path: [Written(section_id, ListOf(ObjectOf(tuple(fields.items()))), section=True)]}
    return _after(context, content, written)


def _collected_list(g: _Graph, node: dict[str, Any], content: dict[str, Any], context: Context,
                    guard: list[tuple[str, Any]], out_path: str) -> Context:
    """A collect table with an outputPath: zen writes the matched rows there as a list of objects.

    With several plain output fields the table's ``result`` is that list already. Otherwise
    (one field, nested fields, fields renamed on the way in) an expression table builds it:
    ``map(result as r, {field: r.field, nested: {...}})``.
    """
    own = _table(g, node, {**content, "outputPath": None, "passThrough": False}, Context(context.written, context.request), guard)
    table = g.tables[-1]
    fields = [(path, w) for path, candidates in own.written.items() for w in candidates]
    if len(fields) > 1 and all("." not in path and w.name == path for path, w in fields):
        result = g.name_for(out_path)
        table["result"] = result
        item = ObjectOf(tuple((path, w.type) for path, w in fields))
        return _after(context, content, {out_path: [Written(result, ListOf(item))]})
    rows = g.name_for(f"{out_path}_rows")
    table["result"] = rows
    var = "r"
    leaves = [(path.split("."), var if len(fields) == 1 else f"{var}.{w.name}", w.type) for path, w in fields]
    record, item = _record(leaves)
    written: dict[str, list[Written]] = {}
    name = _write(g, Context(context.written, context.request), out_path, ListOf(item), written, bool(guard),
                  content.get("passThrough") is True)
    table_id = g.name_for(f"{table['id']}_list")
    built = {"id": table_id, "description": f"the list decision table node {node['id']} writes to {out_path}",
             "hit_policy": "first", "inputs": [], "outputs": [name],
             "rows": [{"id": g.row_id(table_id, "list", 0), "when": {}, "then": {name: f"=map(coalesce({rows}, []) as {var}, {record})"}}]}
    _add_guard(built, guard)
    g.tables.append(built)
    return _after(context, content, written)


def _record(leaves: list[tuple[list[str], str, Any]]) -> tuple[str, ObjectOf]:
    """An object literal, and its type, that puts each value at its (possibly nested) path."""
    groups: dict[str, list[tuple[list[str], str, Any]]] = {}
    for path, text, t in leaves:
        groups.setdefault(path[0], []).append((path[1:], text, t))
    parts: list[str] = []
    types: list[tuple[str, Any]] = []
    for key, members in groups.items():
        if len(members) == 1 and not members[0][0]:
            parts.append(f"{key}: {members[0][1]}")
            types.append((key, members[0][2]))
        else:
            text, t = _record(members)
            parts.append(f"{key}: {text}")
            types.append((key, t))
    return "{" + ", ".join(parts) + "}", ObjectOf(tuple(types))


def _table(g: _Graph, node: dict[str, Any], content: dict[str, Any], context: Context,
           guard: list[tuple[str, Any]]) -> Context:
    _check_mode(content)
    policy = content.get("hitPolicy", "first")
    if policy not in ("first", "collect"):
        raise Unsupported(f"hit policy {policy!r}")
    table_id = g.table_id(node)
    columns: list[dict[str, str] | None] = []
    column_types: list[Any] = []
    condition = {"name": "condition", "expr": "true"}  # conditions over the whole input, joined by 'and'
    for k, spec in enumerate(content.get("inputs", [])):
        field_text = (spec.get("field") or "").strip()
        if all(str(rule.get(spec["id"], "") or "").strip() in ("", "-") for rule in content.get("rules", [])):
            columns.append(None)  # a column no row tests reads nothing
            t = NULL
        elif field_text and field_text != "$":  # a column over the whole input holds conditions, as one without a field
            taken = [c for c in columns if c is not None]
            label = _unique_column([*taken, condition], identifier(spec.get("name") or field_text or f"input_{k + 1}"))
            text, t = Translator(g, context).expr(parse_zen(field_text))
            columns.append({"name": label, "expr": text})
        else:
            columns.append(condition)
            t = BOOLEAN
        column_types.append(t)
    outputs, cells = _output_columns(content)
    cell_types: list[Any] = [NULL] * len(outputs)
    rows: list[dict[str, Any]] = []
    for k, (rule, row_cells) in enumerate(zip(content.get("rules", []), cells, strict=True)):
        when: dict[str, str] = {}
        conditions: list[str] = []
        for column, spec, t in zip(columns, content.get("inputs", []), column_types, strict=True):
            cell = str(rule.get(spec["id"], "") or "").strip()
            if not cell or cell == "-":
                continue
            assert column is not None  # a column with a test in it is read
            test, is_condition = Translator(g, context, column=("?", t)).cell(cell)
            if is_condition or column is condition:
                conditions.append(test)
            else:
                when[column["name"]] = test
        failure = _output_failure(g, context, row_cells)
        if failure is not None:
            conditions.append(f"not ({failure})")
        if conditions:
            when[condition["name"]] = conditions[0] if len(conditions) == 1 else " and ".join(f"({c})" for c in conditions)
        then: dict[str, Any] = {}
        for j, spec in enumerate(outputs):
            value, t = _output_cell(g, context, row_cells[spec["id"]])
            then[spec["id"]] = value
            cell_types[j] = _join_output(cell_types[j], t, spec.get("field", ""))
        rows.append({"id": g.row_id(table_id, str(rule.get("_id", "")), k), "when": when, "then": then})
    written: dict[str, list[Written]] = {}
    names = []
    for j, spec in enumerate(outputs):
        path = (spec.get("field") or "").strip()
        if not path or not re.match(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$", path):
            raise Unsupported(f"output field {path!r}")
        names.append(_write(g, context, path, cell_types[j], written, bool(guard), content.get("passThrough") is True))
    for row in rows:
        row["then"] = {name: row["then"][spec["id"]] for name, spec in zip(names, outputs, strict=True)}
    used = any(condition["name"] in row["when"] for row in rows)
    inputs = [c for c in columns if c is not condition and c is not None] + ([condition] if used else [])
    table = {"id": table_id, "description": f"decision table node {node['id']}", "hit_policy": policy,
             "inputs": inputs, "outputs": names, "rows": rows}
    _add_guard(table, guard)
    g.tables.append(table)
    return _after(context, content, written)


def _unique_column(columns: list[dict[str, str]], name: str) -> str:
    taken = {c["name"] for c in columns}
    candidate, k = name, 2
    while candidate in taken or candidate in RESERVED or candidate.startswith("branch"):
        candidate, k = f"{name}_{k}", k + 1
    return candidate


def _output_columns(content: dict[str, Any]) -> tuple[list[dict[str, str]], list[dict[str, Node | None]]]:
    """Output columns and each row's parsed cells; a column of object literals becomes a column per key."""
    outputs: list[dict[str, str]] = []
    cells: list[dict[str, Node | None]] = [{} for _ in content.get("rules", [])]
    for spec in content.get("outputs", []):
        parsed = [parse_zen(text) if (text := str(rule.get(spec["id"], "") or "").strip()) else None
                  for rule in content.get("rules", [])]
        if not any(node is not None and node[0] == "object" for node in parsed):
            outputs.append(spec)
            for row, node in zip(cells, parsed, strict=True):
                row[spec["id"]] = node
            continue
        if any(node is not None and node[0] != "object" for node in parsed):
            raise Unsupported(f"output {spec.get('field')!r} is an object in some rows and not in others")
        leaves = [dict(_leaves(spec.get("field") or "", node)) if node is not None else {} for node in parsed]
        for path in dict.fromkeys(p for row in leaves for p in row):
            column = {"id": f"{spec['id']}.{path}", "field": path}
            outputs.append(column)
            for row, values in zip(cells, leaves, strict=True):
                row[column["id"]] = values.get(path)
    return outputs, cells


def _output_cell(g: _Graph, context: Context, node: Node | None) -> tuple[Any, Any]:
    if node is None:
        return None, NULL
    if node[0] == "num":
        return node[1], NUMBER
    if node[0] == "bool":
        return node[1], BOOLEAN
    if node[0] == "null":
        return None, NULL
    if node[0] == "str" and not node[1].startswith("="):
        return node[1], STRING
    text, t = Translator(g, context).expr(node)
    return "=" + text, t


_ARITHMETIC = ("+", "-", "*", "/", "%", "^")


def _output_failure(g: _Graph, context: Context, cells: dict[str, Node | None]) -> str | None:
    """When a row's outputs would fail in zen, which then skips the row and tries the next one.

    zen fails on arithmetic with a null operand (division by zero itself gives null), so a
    row whose output cells do arithmetic matches only while those operands are not null.
    A row whose operands read closure elements is left as it is.
    """
    operands: list[str] = []
    for node in cells.values():
        for sub in walk(node) if node is not None else []:
            if sub[0] == "bin" and sub[1] in _ARITHMETIC:
                for side in (sub[2], sub[3]):
                    if side[0] in ("num", "str"):
                        continue  # a literal is never null
                    try:
                        operands.append(Translator(g, context).expr(side)[0])
                    except Unsupported:
                        return None
    unique = list(dict.fromkeys(operands))
    return " or ".join(f"({text} = null)" for text in unique) or None


def _join_output(a: Any, b: Any, path: str) -> Any:
    joined = join_types(a, b)
    if joined == MIXED:
        raise Unsupported(f"the rows give output {path!r} different types")
    return joined


def _expressions(g: _Graph, node: dict[str, Any], content: dict[str, Any], context: Context,
                 guard: list[tuple[str, Any]]) -> Context:
    """An expression node: one-row tables, a new one wherever a key reads ``$.key`` set in the current one.

    Tables run in order, so a later table reads an earlier key by the name it was written
    to, as a person would write it, instead of repeating its expression.
    """
    _check_mode(content)
    local: dict[str, tuple[str, Any]] = {}
    written: dict[str, list[Written]] = {}
    segments: list[dict[str, str]] = [{}]
    current: set[str] = set()
    for item in content.get("expressions", []):
        key = (item.get("key") or "").strip()
        value = (item.get("value") or "").strip()
        if not key or not value:
            continue
        for path, tree in _leaves(key, parse_zen(value), context):
            translator = Translator(g, context, local=local)
            text, t = translator.expr(tree)
            if translator.read_local & current:
                segments.append({})
                current = set()
            name = _write(g, context, path, t, written, bool(guard), content.get("passThrough") is True)
            local[path] = (name, t)
            current.add(path)
            segments[-1][name] = "=" + text
    if not segments[0]:
        raise Unsupported("an expression node without expressions")
    first_id = g.table_id(node)
    for k, then in enumerate(segments):
        table_id = first_id if k == 0 else g.name_for(f"{first_id}_{k + 1}")
        table = {"id": table_id, "description": f"expression node {node['id']}" + (f", part {k + 1}" if len(segments) > 1 else ""),
                 "hit_policy": "first", "inputs": [], "outputs": list(then),
                 "rows": [{"id": g.row_id(table_id, "expressions", 0), "when": {}, "then": then}]}
        _add_guard(table, guard)
        g.tables.append(table)
    return _after(context, content, written)


def _leaves(path: str, node: Node, context: Context | None = None) -> list[tuple[str, Node]]:
    """An object literal is written field by field, as zen's nested output paths are.

    So is an object the graph built field by field (``breakdown = {'image': scores.image}``
    after a table wrote ``scores.image.score`` and ``scores.image.category``): each field it
    has is copied.
    """
    source = path_of(node) if node[0] in ("name", "member") else None
    if source is not None and context is not None and context.item is None:
        full = context.scope + source
        parts = [] if full in context.written else sorted(p[len(full) + 1:] for p in context.written if p.startswith(full + "."))
        if parts:
            return [(f"{path}.{part}", _member_path(node, part)) for part in parts]
    if node[0] != "object" or not node[1]:  # {} is one value: there are no fields to write it by
        return [(path, node)]
    return [leaf for key, value in node[1] for leaf in _leaves(f"{path}.{key}", value, context)]


def _member_path(node: Node, suffix: str) -> Node:
    for part in suffix.split("."):
        node = ("member", node, part)
    return node


def to_yaml(pack: JdmPack) -> str:
    mapping = "".join(f"# output {name} is the graph's {path}\n" for name, path in pack.paths.items() if name != path)
    mapping += "".join(f"# {remark}\n" for remark in pack.remarks())
    return render_pack(pack.document, pack.unsupported, mapping)


def convert(path: Path) -> JdmPack:
    graph = json.loads(path.read_text(encoding="utf-8"))
    return convert_graph(graph, path.stem)
