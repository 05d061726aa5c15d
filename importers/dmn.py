"""Converting DMN models into pack YAML.

Input data become typed inputs (item definitions as records, lists and enums, see
``importers.dmn_types``); decision tables become tables with every hit policy, collect
aggregation and default output; literal-expression decisions become an output's ``value:``
(their FEEL translated by ``importers.feel``). A model whose decisions require decisions
becomes a flow with a pack per decision, in requirement order. Names that are not
identifiers ("Approval Status") become identifiers ("Approval_Status"); ``names`` maps them
back. Every element read is converted or refused by id (``importers.dmn_ledger``); a refused
decision leaves the others converted, and the decisions that require it are refused too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as safe_xml

from importers import dmn_knowledge
from importers.dmn_boxed import AS_FEEL, Boxed, fits
from importers.dmn_ledger import Ledger, Refused, local
from importers.dmn_types import ItemTypes, primitive
from importers.feel import NULL, PACK_TYPES, FeelRefused, Function, Tr, describe, kind_of, spec_of, translate
from rules.emit import identifier, render_pack
from rules.load import load_text
from rules.parser import ExpressionError, parse_expression
from rules.syntax import Literal

HIT_POLICIES = {
    "UNIQUE": "unique", "FIRST": "first", "PRIORITY": "priority", "ANY": "any", "COLLECT": "collect",
    "RULE ORDER": "rule_order", "OUTPUT ORDER": "output_order",
}
MULTI_HIT = ("collect", "rule_order", "output_order")
# top-level elements converted where they are referenced (item definitions by typeRef)
REFERENCED = ("itemDefinition",)


@dataclass
class DmnPack:
    document: dict[str, Any]  # the model's pack; a flow when decisions require decisions
    names: dict[str, str] = field(default_factory=dict)  # DMN name -> pack identifier
    unsupported: list[str] = field(default_factory=list)  # every refusal, by element id
    steps: list[dict[str, Any]] = field(default_factory=list)  # a flow's step packs: one per decision
    refused: dict[str, str] = field(default_factory=dict)  # DMN name of a refused decision or input -> why
    ledger: Ledger | None = None

    @property
    def documents(self) -> list[dict[str, Any]]:
        return [*self.steps, self.document] if self.document else []


@dataclass
class Decision:
    """A converted decision: a table, or an expression computing its one output."""

    name: str  # as written in DMN
    ident: str
    requires: list[str]  # element ids of the input data and decisions it reads
    outputs: dict[str, dict[str, Any]]  # pack outputs it writes
    table: dict[str, Any] | None = None
    value: str | None = None  # an output value expression (a literal-expression decision)
    element: ET.Element | None = None
    kind: Any = None  # its FEEL kind when its output's type does not say it (always null)


def _ns(root: ET.Element) -> str:
    return root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""


class Converter:
    """One model's conversion: what is converted, and every refusal, recorded in a ledger."""

    def __init__(self, root: ET.Element, source: str, each_decision: bool = False) -> None:
        self.each_decision = each_decision  # compile each decision's pack alone (to name one that does not compile)
        self.root = root
        self.ns = _ns(root)
        self.source = source
        self.ledger = Ledger(root)
        self.types = ItemTypes(root, self.ns, self.ledger)
        self.names: dict[str, str] = {}
        self.inputs: dict[str, dict[str, Any]] = {}
        self.by_id: dict[str, str] = {}  # element id -> identifier, for requirement hrefs
        self.claimed: dict[str, str] = {}  # identifier, case folded as pack names are -> the DMN name that has it
        self.refused: dict[str, str] = {}  # element id -> refusal, of input data and decisions
        self.refused_names: dict[str, str] = {}
        self.functions: dict[str, Function] = {}  # converted business knowledge models, by element id
        self.boxed = Boxed(self.ns, self.ledger, self.types, self.feel_text, self.invocation)

    def refuse(self, element: ET.Element, reason: str, *, where: ET.Element | None = None) -> str:
        message = self.ledger.refuse(element, reason, where=where)
        named = where if where is not None else element
        self.refused[named.get("id", "")] = message
        self.refused_names[named.get("name", "")] = message
        return message

    def run(self) -> DmnPack:
        self.ledger.notation()
        self.ledger.take(self.root)
        for data in self.root.findall(f"{self.ns}inputData"):
            self.input_data(data)
        for bkm in self.root.findall(f"{self.ns}businessKnowledgeModel"):
            self.knowledge_model(bkm)
        for service in self.root.findall(f"{self.ns}decisionService"):
            try:
                self.functions[service.get("id", "")] = dmn_knowledge.decision_service(service, self.boxed, self.root)
            except Refused as exc:
                self.ledger.refuse(exc.element if exc.element is not None else service, exc.reason)
        decisions: dict[str, Decision] = {}
        for key, element in self.in_requirement_order():
            decision = self.decision(element, decisions)
            if decision is not None:
                decision.element = element
                decisions[key] = decision
        decisions = self.without_refused_requirements(decisions)
        self.types.convert_all()
        if self.each_decision:
            decisions = self.without_refused_requirements(self.compiling(decisions))
        for element in self.root:  # business knowledge models, decision services, imports, ...
            if local(element) not in ("inputData", "decision", *REFERENCED) and not self.ledger.taken(element):
                self.ledger.refuse(element, f"{local(element)} is not converted")
        return self.assemble(list(decisions.values()))

    def knowledge_model(self, element: ET.Element) -> None:
        try:
            self.functions[element.get("id", "")] = dmn_knowledge.knowledge_model(element, self.boxed)
        except Refused as exc:
            self.ledger.refuse(element, exc.reason)

    def required_functions(self, element: ET.Element) -> dict[str, Function]:
        """The business knowledge models a decision may call, by name; Refused when one is not converted."""
        models = {m.get("id", ""): m for m in self.root.findall(f"{self.ns}businessKnowledgeModel")}
        models |= {s.get("id", ""): s for s in self.root.findall(f"{self.ns}decisionService") if s.get("id") in self.functions}
        found = dmn_knowledge.required(element, self.ns, self.functions, models)
        for requirement in element.findall(f"{self.ns}knowledgeRequirement"):
            self.ledger.take_all(requirement)
        return {self.functions[ref].name: self.functions[ref] for ref in found}

    def table_invocation(self, expression: ET.Element, scope: dict[str, tuple[str, Any]],
                         functions: dict[str, Function]) -> ET.Element | None:
        try:
            return dmn_knowledge.table_invocation(expression, self.ns, self.ledger, self.feel_text, scope, functions)
        except FeelRefused as exc:
            raise Refused(expression, f"an invocation: {exc}") from None

    def invocation(self, expression: ET.Element, scope: dict[str, tuple[str, Any]], functions: dict[str, Function]) -> Tr:
        return dmn_knowledge.invocation(expression, self.ns, self.ledger, self.feel_text, scope, functions)

    def input_data(self, data: ET.Element) -> None:
        name = data.get("name", "")
        variable = data.find(f"{self.ns}variable")
        self.by_id[data.get("id", "")] = identifier(name)
        try:
            self.claim(data, name)
            spec = self.types.spec(variable.get("typeRef") if variable is not None else None)
        except Refused as exc:
            self.refuse(data, exc.reason)
            return
        self.ledger.take(data, variable)
        self.names[name] = identifier(name)
        self.inputs[identifier(name)] = spec

    def claim(self, element: ET.Element, name: str) -> None:
        """Give a name its pack identifier, refusing a second name that would read or overwrite the first's."""
        ident = identifier(name)
        holder = self.claimed.setdefault(ident.casefold(), name)
        if holder != name:
            raise Refused(element, f"its name {name!r} would share the pack name {ident!r} with {holder!r} (pack names drop punctuation and case)")

    def in_requirement_order(self) -> list[tuple[str, ET.Element]]:
        """The model's decisions, each after the decisions it requires (a cycle is left to the flow to refuse)."""
        elements = {_key(e, k): e for k, e in enumerate(self.root.findall(f"{self.ns}decision"))}
        order: dict[str, ET.Element] = {}

        def visit(element_id: str, path: tuple[str, ...]) -> None:
            if element_id in order or element_id in path or element_id not in elements:
                return
            for ref in elements[element_id].iter(f"{self.ns}requiredDecision"):
                visit((ref.get("href") or "").lstrip("#"), (*path, element_id))
            order[element_id] = elements[element_id]

        for element_id in elements:
            visit(element_id, ())
        return list(order.items())

    def scope(self, requires: list[str], decisions: dict[str, Decision]) -> dict[str, tuple[str, Any]]:
        """What a decision's FEEL may read: the input data and decisions it requires, by DMN name."""
        scope = {}
        for ref in requires:
            ident = self.by_id.get(ref)
            if ref in decisions:
                decision = decisions[ref]
                kind = decision.kind if decision.kind is not None else kind_of(decision.outputs[decision.ident])
                scope[decision.name] = (decision.ident, kind)
            elif ident in self.inputs:
                written = next(name for name, i in self.names.items() if i == ident)
                scope[written] = (ident, kind_of(self.inputs[ident]))
        return scope

    def decision(self, element: ET.Element, decisions: dict[str, Decision] | None = None) -> Decision | None:
        name = element.get("name", "")
        ident = identifier(name)
        self.by_id[element.get("id", "")] = ident
        variable = element.find(f"{self.ns}variable")
        requires = []
        for requirement in element.findall(f"{self.ns}informationRequirement"):
            for ref in requirement:
                if local(ref) in ("requiredInput", "requiredDecision"):
                    requires.append((ref.get("href") or "").lstrip("#"))
                    self.ledger.take(requirement, ref)
        logic = [child for child in element if local(child) not in ("variable", "informationRequirement", "knowledgeRequirement")
                 and not self.ledger.taken(child)]
        if len(logic) != 1:
            self.refuse(element, "no decision logic" if not logic else "more than one expression")
            return None
        try:
            self.claim(element, name)
            functions = self.required_functions(element)
            if functions and local(logic[0]) == "decisionTable":
                raise Refused(logic[0], "a decision table that invokes a business knowledge model is not converted")
            decision = self.logic(logic[0], name, ident, variable, self.scope(requires, decisions or {}), functions)
        except Refused as exc:
            inner = exc.element if exc.element is not None else logic[0]
            at = f" (at {local(inner)} {inner.get('id')})" if inner.get("id") and inner is not element else ""
            self.refuse(element, exc.reason + at)
            return None
        self.ledger.take(element, variable)
        decision.requires = requires
        self.names[name] = ident
        return decision

    def logic(self, expression: ET.Element, name: str, ident: str, variable: ET.Element | None,
              scope: dict[str, tuple[str, Any]], functions: dict[str, Function]) -> Decision:
        kind = local(expression)
        if kind == "decisionTable":
            return self.table(expression, name, ident, variable, lambda text: translate(text, scope, functions))
        if kind == "literalExpression":
            text = self.feel_text(expression)
            return self.literal(expression, f"FEEL {text!r}", name, ident, variable, lambda: translate(text, scope, functions))
        if kind == "invocation" and (table := self.table_invocation(expression, scope, functions)) is not None:
            return self.table(table, name, ident, variable, lambda text: translate(text, scope, functions))
        if kind in ("invocation", "context", *AS_FEEL):
            return self.literal(expression, f"the boxed {kind}", name, ident, variable,
                                lambda: self.boxed.value(expression, scope, functions))
        raise Refused(expression, f"a {kind} is not converted")

    def feel_text(self, expression: ET.Element) -> str:
        """A literal expression's FEEL text (recorded as converted), or Refused."""
        if expression.get("expressionLanguage") or expression.find(f"{self.ns}importedValues") is not None:
            raise Refused(expression, "an expression in another language than FEEL is not converted")
        text = self.text(expression)
        if text is None:
            raise Refused(expression, "an empty literal expression")
        return text

    def literal(self, expression: ET.Element, what: str, name: str, ident: str, variable: ET.Element | None,
                translation: Callable[[], Tr]) -> Decision:
        """A decision with one value: one output whose ``value:`` is its FEEL, translated (business knowledge
        models it invokes inlined)."""
        type_ref = variable.get("typeRef") if variable is not None else None
        try:
            translated = translation()
            declared = self.types.spec(type_ref) if type_ref else None
            spec = declared if declared is not None and translated.kind == NULL else spec_of(translated.kind)
        except FeelRefused as exc:
            raise Refused(expression, f"{what}: {exc}") from None
        if declared is not None and translated.kind != NULL and (not fits(kind_of(declared), translated.kind) or declared["type"] == "enum"):
            raise Refused(expression, f"{what} is a {describe(translated.kind)}, its decision a {type_ref}: "
                          "FEEL would convert or refuse the value")
        self.ledger.take(expression)
        return Decision(name, ident, [], {ident: {**spec, "value": translated.text}},
                        kind=NULL if translated.kind == NULL else None)

    def compiling(self, decisions: dict[str, Decision]) -> dict[str, Decision]:
        """The decisions whose pack compiles, checked one at a time in requirement order (each with the inputs and
        the outputs of the decisions before it): another is refused by its element id with the compiler's first
        error, so that a written pack never fails to compile and the refusal says which DMN element caused it."""
        earlier: dict[str, Any] = {}
        for element_id, decision in list(decisions.items()):
            if any(ref in self.refused for ref in decision.requires):
                continue  # refused below, naming the requirement
            inputs = {**self.inputs, **{n: {**{k: v for k, v in spec.items() if k != "value"}, "optional": True}
                                        for n, spec in earlier.items()}}
            pack = {"pack": "decision", "version": "1.0.0", "description": decision.name, "owner": "dmn-import",
                    "inputs": inputs, "tables": [decision.table] if decision.table is not None else [],
                    "outputs": decision.outputs}
            loaded = load_text(render_pack(pack, []), f"{decision.ident}.yaml")
            errors = [d for d in loaded.diagnostics if d.severity == "error"]
            if errors:
                assert decision.element is not None
                first = errors[0]
                self.refuse(decision.element, f"its converted pack does not compile: {first.code}: {first.message}")
                self.names.pop(decision.name, None)
                del decisions[element_id]
                continue
            earlier.update(decision.outputs)
        return decisions

    def without_refused_requirements(self, decisions: dict[str, Decision]) -> dict[str, Decision]:
        """Decisions whose requirements are all converted; the others refused, naming what they require."""
        changed = True
        while changed:
            changed = False
            for element_id, decision in list(decisions.items()):
                missing = [ref for ref in decision.requires if ref in self.refused or ref not in self.by_id]
                if missing:
                    assert decision.element is not None
                    self.refuse(decision.element, f"requires {missing[0]}, which is not converted")
                    self.names.pop(decision.name, None)
                    del decisions[element_id]
                    changed = True
        return decisions

    def table(self, table: ET.Element, decision_name: str, result_name: str, variable: ET.Element | None,
              feel: Callable[[str], Tr]) -> Decision:
        ns = self.ns
        policy_text = table.get("hitPolicy", "UNIQUE")
        policy = HIT_POLICIES.get(policy_text)
        if policy is None:
            raise Refused(table, f"hit policy {policy_text!r} is not converted")
        aggregation = table.get("aggregation")
        columns = [self.column(element) for element in table.findall(f"{ns}input")]
        out_elements = table.findall(f"{ns}output")
        multi_output = len(out_elements) > 1
        out_names, out_kinds, output_values, default = [], [], {}, {}
        for element in out_elements:
            name = (element.get("name") if multi_output else None) or decision_name
            ident = identifier(name)
            self.names[name] = ident
            out_names.append(ident)
            out_kinds.append(self.kind(element.get("typeRef") or (None if multi_output else _type_ref(variable, table))))
            values_element = element.find(f"{ns}outputValues")
            values = _literal_list(self.text(values_element))
            if values is not None:
                output_values[ident] = values
            default_element = element.find(f"{ns}defaultOutputEntry")
            if default_element is not None:
                default[ident] = _output_cell(self.text(default_element) or "null")
            self.ledger.take(element)
        rows = [self.row(rule, columns, out_names, k, feel) for k, rule in enumerate(table.findall(f"{ns}rule"))]
        self.ledger.take(table)
        kinds = [k or _infer_kind([r["then"][n] for r in rows] + ([default[n]] if n in default else []))
                 for k, n in zip(out_kinds, out_names, strict=True)]
        spec: dict[str, Any] = {"id": result_name, "hit_policy": policy, "inputs": columns, "outputs": out_names, "rows": rows}
        if aggregation:
            spec["aggregation"] = aggregation.lower()
        if output_values and policy in ("priority", "output_order"):
            spec["output_values"] = output_values
        multi_hit = policy in MULTI_HIT and not aggregation
        if default and aggregation:
            raise Refused(table.find(f"{ns}output/{ns}defaultOutputEntry"), f"a default output on a {policy_text} {aggregation} table is not converted")
        if default and not multi_hit:
            spec["default"] = {n: default.get(n) for n in out_names}
        outputs = _table_outputs(spec, result_name, out_names, kinds, multi_output, multi_hit)
        if default and multi_hit:
            outputs = _no_match_refused(spec, outputs)
        if aggregation == "SUM":
            outputs = _empty_sum_null(spec, outputs)
        return Decision(decision_name, result_name, [], outputs, table=spec)

    def column(self, element: ET.Element) -> str:
        expression = element.find(f"{self.ns}inputExpression")
        expr = self.text(expression) or ""
        for dmn_name, ident in sorted(self.names.items(), key=lambda item: -len(item[0])):
            if dmn_name != ident:
                expr = expr.replace(dmn_name, ident)
        # inputValues only say which values the column expects; the rows still test any value
        self.ledger.take(element)
        if (values := element.find(f"{self.ns}inputValues")) is not None:
            self.ledger.take_all(values)
        return expr

    def row(self, rule: ET.Element, columns: list[str], out_names: list[str], k: int,
            feel: Callable[[str], Tr]) -> dict[str, Any]:
        ns = self.ns
        # the source's rule id, kept stable (DMN tools prefix '_', which a row id may not start with)
        raw_id = re.sub(r"[^A-Za-z0-9_.\-]", "_", rule.get("id") or "").lstrip("_.-")
        when: dict[str, str] = {}
        cells = rule.findall(f"{ns}inputEntry")
        outs = rule.findall(f"{ns}outputEntry")
        if len(cells) != len(columns) or len(outs) != len(out_names):
            raise Refused(rule, f"{len(cells)} input and {len(outs)} output entries for {len(columns)} inputs and {len(out_names)} outputs")
        for column, cell in zip(columns, cells, strict=True):
            test = self.text(cell) or "-"
            if test != "-":
                when[column] = test
        then = {out_name: self.output_cell(cell, feel) for out_name, cell in zip(out_names, outs, strict=True)}
        self.ledger.take(rule)
        return {"id": raw_id[:64] or f"r{k + 1}", "when": when, "then": then}

    def output_cell(self, cell: ET.Element, feel: Callable[[str], Tr]) -> Any:
        """An output entry: its literal value, or its FEEL translated (``=expression``)."""
        text = self.text(cell) or "null"
        value = _output_cell(text)
        if not (isinstance(value, str) and value.startswith("=")):
            return value
        try:
            return "=" + feel(text).text
        except FeelRefused as exc:
            raise Refused(cell, f"FEEL {text!r}: {exc}") from None

    def text(self, element: ET.Element | None) -> str | None:
        """The text of an element's ``<text>``, both recorded as converted."""
        if element is None:
            return None
        node = element.find(f"{self.ns}text")
        self.ledger.take(element, node)
        return node.text.strip() if node is not None and node.text is not None else None

    def kind(self, type_ref: str | None) -> str:
        """A table output's scalar kind from its typeRef, or '' to infer it from the cells."""
        if not type_ref:
            return ""
        kind = primitive(type_ref)
        if kind is None and type_ref in self.types.definitions:
            try:
                spec = self.types.spec(type_ref)
            except Refused:
                return ""
            kind = {"enum": "string"}.get(spec["type"], spec["type"])
        return kind if kind in ("decimal", "string", "boolean", "date", *PACK_TYPES.values()) else ""

    def assemble(self, decisions: list[Decision]) -> DmnPack:
        document: dict[str, Any] = {}
        steps: list[dict[str, Any]] = []
        if decisions:
            document = {
                "pack": _pack_name(Path(self.source).stem), "version": "1.0.0",
                "description": f"Converted from {self.source}", "owner": "dmn-import",
                "inputs": self.inputs, "tables": [d.table for d in decisions if d.table is not None],
                "outputs": {n: spec for d in decisions for n, spec in d.outputs.items()},
            }
            decided = {d.ident for d in decisions}
            required = {d.ident: [self.by_id[r] for r in d.requires if r in self.by_id] for d in decisions}
            if any(ref in decided for refs in required.values() for ref in refs):
                document, steps = _as_flow(document, self.source, required, self.names, decisions, self.ledger)
        return DmnPack(document, self.names, self.ledger.refusals, steps, self.refused_names, self.ledger)


def _key(element: ET.Element, k: int) -> str:
    """A decision's id (what requirements refer to), or its position when it has none."""
    return element.get("id") or f"(decision {k + 1} has no id)"


def _type_ref(variable: ET.Element | None, table: ET.Element) -> str | None:
    return table.get("typeRef") or (variable.get("typeRef") if variable is not None else None)


def _table_outputs(spec: dict[str, Any], result_name: str, out_names: list[str], kinds: list[str], multi_output: bool,
                   multi_hit: bool) -> dict[str, Any]:
    if multi_output:
        spec["result"] = result_name
        fields = {n: {"type": k, "optional": True} for n, k in zip(out_names, kinds, strict=True)}
        if multi_hit:
            return {result_name: {"type": "list", "items": fields}}
        return {result_name: {"type": "object", "fields": fields, "optional": True}}
    kind = "integer" if spec.get("aggregation") == "count" else kinds[0]
    if multi_hit:
        return {out_names[0]: {"type": "list", "of": kind}}
    return {out_names[0]: {"type": kind, "optional": True}}


def _no_match_refused(spec: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    """A multi-hit table with a default output: where no row matches, the decision is refused, not answered.

    DMN does not say whether such a table answers its default alone, a list of it, or an empty
    list; so the table's list is bound to ``<name>_rows`` and the decision is a required output
    that is null (an ``output-missing`` error) when the list is empty.
    """
    (name, out_spec), = outputs.items()
    rows = _rows_bound(spec, name)
    return {name: {**{k: v for k, v in out_spec.items() if k != "optional"}, "value": f"if count({rows}) = 0 then null else {rows}"}}


def _empty_sum_null(spec: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    """A C+ table where no row matches answers null, as FEEL's sum([]) does; a pack's sum of no rows is 0."""
    (name, out_spec), = outputs.items()
    del spec["aggregation"]
    rows = _rows_bound(spec, name)
    return {name: {**out_spec, "value": f"if count({rows}) = 0 then null else sum({rows}, item)"}}


def _rows_bound(spec: dict[str, Any], name: str) -> str:
    """The table's matching rows' outputs, bound to ``<name>_rows`` for an output value to read."""
    rows = f"{name}_rows"
    if "result" in spec:
        spec["result"] = rows
    else:
        spec["outputs"] = [rows]
        for row in spec["rows"]:
            row["then"] = {rows: row["then"][name]}
    return rows


def convert(path: Path, each_decision: bool = False) -> DmnPack:
    """The model's packs; with ``each_decision``, a decision whose pack does not compile is refused by its id."""
    return Converter(safe_xml.parse(path).getroot(), path.name, each_decision).run()


def _literal_list(text: str | None) -> list[Any] | None:
    if not text:
        return None
    values = []
    for part in re.findall(r'"((?:[^"\\]|\\.)*)"|([^,\s][^,]*)', text):
        values.append(part[0] if part[0] or not part[1] else _scalar(part[1].strip()))
    return values


def _scalar(text: str) -> Any:
    try:
        node = parse_expression(text)
    except ExpressionError:
        return text
    return node.value if isinstance(node, Literal) else text


def _output_cell(text: str) -> Any:
    try:
        node = parse_expression(text)
    except ExpressionError:
        return "=" + text
    if isinstance(node, Literal):
        return node.value
    return "=" + text


def _as_flow(model: dict[str, Any], source: str, required: dict[str, list[str]], names: dict[str, str],
             decisions: list[Decision], ledger: Ledger) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A requirements graph: a pack per decision, and a flow that runs them in dependency order."""
    by_ident = {d.ident: d for d in decisions}
    order = _requirement_order(by_ident, required, ledger)
    if order is None:
        return {}, []
    outputs = model["outputs"]
    written_as = {ident: name for name, ident in names.items()}
    steps, flow_steps = [], []
    for ident in order:
        decision = by_ident[ident]
        needs = required.get(ident, [])
        step_inputs = {n: model["inputs"][n] for n in needs if n in model["inputs"]}
        step_inputs.update((n, {**{k: v for k, v in outputs[n].items() if k != "value"}, "optional": True})
                           for n in needs if n in by_ident)
        steps.append({"pack": f"{model['pack']}_{ident.lower()}", "version": "1.0.0",
                      "description": f"decision '{written_as.get(ident, ident)}' of {source}",
                      "owner": model["owner"], "inputs": step_inputs,
                      "tables": [decision.table] if decision.table is not None else [],
                      "outputs": decision.outputs})
        flow_steps.append({"id": ident, "pack": steps[-1]["pack"],
                           "inputs": {n: (f"{n}.{n}" if n in by_ident else n) for n in needs}})
    flow = {
        "pack": model["pack"], "version": "1.0.0", "kind": "flow",
        "description": f"{model['description']}: its decision requirements graph, one step per decision",
        "owner": model["owner"], "inputs": model["inputs"], "steps": flow_steps,
        "outputs": {n: {**{k: v for k, v in spec.items() if k != "value"}, "value": f"{step['id']}.{n}"}
                    for step, pack in zip(flow_steps, steps, strict=True) for n, spec in pack["outputs"].items()},
    }
    return flow, steps


def _requirement_order(decisions: dict[str, Decision], required: dict[str, list[str]], ledger: Ledger) -> list[str] | None:
    """Decisions after the decisions they require; None (each cycle refused) when requirements loop."""
    order: list[str] = []
    cycles: list[str] = []

    def visit(decision: str, path: tuple[str, ...]) -> None:
        if decision in path:
            loop = (*path[path.index(decision):], decision)
            cycles.append(f"{decision}: its requirements lead back to it ({' -> '.join(loop)})")
            return
        if decision in order:
            return
        for ref in required.get(decision, []):
            if ref in decisions:
                visit(ref, (*path, decision))
        order.append(decision)

    for decision in decisions:
        visit(decision, ())
    if not cycles:
        return order
    for cycle in dict.fromkeys(cycles):
        ident, reason = cycle.split(": ", 1)
        ledger.refuse(_named(ledger.root, ident), reason)
    return None


def _named(root: ET.Element, ident: str) -> ET.Element:
    return next((e for e in root.iter() if local(e) == "decision" and identifier(e.get("name", "")) == ident), root)


def _pack_name(stem: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", stem.lower()).strip("_") or "dmn"
    return name if name[0].isalpha() else f"dmn_{name}"


def _infer_kind(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in values):
        return "decimal"
    return "string"
