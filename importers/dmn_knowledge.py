"""Business knowledge models and their invocations, inlined where they are called.

A business knowledge model whose body is a FEEL literal expression becomes a ``Function``: a
decision that requires it (``knowledgeRequirement``) may call it by name in FEEL, with
positional or named arguments, or through an ``invocation`` whose bindings name the
parameters; either way the body is translated at the call site with its parameters bound to
the arguments (``importers.feel.Translator.inline``). Any other body (a decision table, a
context, a function definition) is refused with the model's id.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from importers.dmn_boxed import Boxed, Scope
from importers.dmn_ledger import Ledger, Refused, local
from importers.dmn_types import ItemTypes
from importers.feel import NULL, NULL_VALUE, FeelRefused, Function, Kind, Tr, Translator, kind_of, translate


def knowledge_model(element: ET.Element, boxed: Boxed) -> Function:
    """The function a business knowledge model defines, its elements recorded as converted; Refused otherwise."""
    ns, ledger, types = boxed.ns, boxed.ledger, boxed.types
    logic = element.find(f"{ns}encapsulatedLogic")
    if logic is None:
        raise Refused(element, "a business knowledge model with no encapsulated logic")
    params = logic.findall(f"{ns}formalParameter")
    body = [child for child in logic if local(child) != "formalParameter"]
    if len(body) != 1 or local(body[0]) not in ("literalExpression", "context", "decisionTable"):
        what = local(body[0]) if body else "no"
        raise Refused(element, f"a {what} body is not converted (a literal expression, a context or a table is inlined)")
    kinds = tuple((p.get("name", ""), _kind(types, p.get("typeRef"))) for p in params)
    variable = element.find(f"{ns}variable")
    result = _kind(types, body[0].get("typeRef") or (variable.get("typeRef") if variable is not None else None))
    function = Function(element.get("name", ""), kinds, _body(body[0], boxed), result)
    ledger.take(element, variable, logic, *params)
    for requirement in element.findall(f"{ns}knowledgeRequirement"):
        ledger.take_all(requirement)
    return function


def decision_service(element: ET.Element, boxed: Boxed, root: ET.Element) -> Function:
    """The function a decision service defines, called by name in FEEL: its parameters are its input data, then its
    input decisions (the TCK's 0085 011 and 012), and its body its one output decision's literal expression or
    context. A service with several output decisions (a context of them), or whose output decision reads a decision
    it encapsulates, is refused with its id."""
    ns = boxed.ns
    by_id = {e.get("id", ""): e for e in root if local(e) in ("decision", "inputData")}

    def referenced(tag: str) -> list[ET.Element]:
        refs = [(r.get("href") or "").rsplit("#", 1)[-1] for r in element.findall(f"{ns}{tag}")]
        if any(ref not in by_id for ref in refs):
            raise Refused(element, f"a decision service whose {tag} is not in this model is not converted")
        return [by_id[ref] for ref in refs]

    outputs, data, decisions = referenced("outputDecision"), referenced("inputData"), referenced("inputDecision")
    if len(outputs) != 1:
        raise Refused(element, "a decision service with other than one output decision (a context of them) is not converted")
    output = outputs[0]
    given = {e.get("id", "") for e in (*data, *decisions)}
    for requirement in output.findall(f"{ns}informationRequirement"):
        ref = next(iter(requirement), None)
        if ref is None or (ref.get("href") or "").rsplit("#", 1)[-1] not in given:
            raise Refused(element, "a decision service whose output decision reads what is not its input is not converted")
    body = [child for child in output if local(child) in ("literalExpression", "context")]
    if len(body) != 1 or output.find(f"{ns}knowledgeRequirement") is not None:
        raise Refused(element, "a decision service whose output decision is not a literal expression or a context "
                               "(or calls a model) is not converted")
    params = []
    for param in (*data, *decisions):
        variable = param.find(f"{ns}variable")
        params.append((param.get("name", ""), _kind(boxed.types, variable.get("typeRef") if variable is not None else None)))
    out_variable = output.find(f"{ns}variable")
    result = _kind(boxed.types, out_variable.get("typeRef") if out_variable is not None else None)
    function = Function(element.get("name", ""), tuple(params), _body(body[0], boxed), result)
    boxed.ledger.take_all(element)
    return function


INLINED = frozenset({"context", "contextEntry", "variable", "literalExpression", "text", "invocation", "binding", "parameter"})


def _body(element: ET.Element, boxed: Boxed) -> str | Callable[[Scope, dict[str, Function]], Tr] | ET.Element:
    """A literal expression's FEEL text; a context, translated at each call site (a refusal there names its element
    and refuses the calling decision). A context holding what cannot be inlined (a table) refuses the model."""
    if local(element) == "literalExpression":
        return boxed.text_of(element)
    if local(element) == "decisionTable":  # converted where an invocation inlines it, refusing the decision if not
        boxed.ledger.take_all(element)
        return element
    for inner in element.iter():
        if local(inner) not in INLINED and not boxed.ledger.taken(inner):
            raise Refused(inner, f"a {local(inner)} in a business knowledge model's body is not converted")
    boxed.ledger.take_all(element)

    def inline(scope: Scope, functions: dict[str, Function]) -> Tr:
        try:
            return boxed.value(element, scope, functions)
        except Refused as exc:
            at = exc.element.get("id") if exc.element is not None else None
            raise FeelRefused(exc.reason + (f" (at {local(exc.element)} {at})" if exc.element is not None and at else "")) from None

    return inline


def _kind(types: ItemTypes, type_ref: str | None) -> Kind | None:
    """The FEEL kind of a typeRef, None when there is none (the argument's kind is taken)."""
    if not type_ref or type_ref.rsplit(":", 1)[-1] == "Any":
        return None
    return kind_of(types.spec(type_ref))


def required(element: ET.Element, ns: str, converted: dict[str, Function], models: dict[str, ET.Element]) -> list[str]:
    """The element ids of the business knowledge models an element requires, itself and through them; Refused when
    one is not converted (or is a decision service)."""
    found: list[str] = []
    pending = [element]
    while pending:
        for requirement in pending.pop().findall(f"{ns}knowledgeRequirement"):
            ref = requirement.find(f"{ns}requiredKnowledge")
            target = (ref.get("href") or "").rsplit("#", 1)[-1] if ref is not None else ""
            if target not in converted:
                what = "business knowledge model" if target in models else "decision service or imported model"
                raise Refused(element, f"requires the {what} {target or '(no href)'}, which is not converted")
            if target not in found:
                found.append(target)
                pending.append(models[target])
    return found


def table_invocation(expression: ET.Element, ns: str, ledger: Ledger, text_of: Callable[[ET.Element], str],
                     scope: Scope, functions: dict[str, Function]) -> ET.Element | None:
    """The decision table of the model an invocation calls when it can stand in the decision's place: every parameter
    is bound to the value of the same name, of the parameter's kind. None when the model's body is not a table."""
    callee = expression.find(f"{ns}literalExpression")
    function = functions.get(text_of(callee) if callee is not None else "")
    if function is None or not isinstance(function.body, ET.Element):
        return None
    bindings = expression.findall(f"{ns}binding")
    bound = {}
    for binding in bindings:
        parameter = binding.find(f"{ns}parameter")
        values = [child for child in binding if local(child) != "parameter"]
        text = text_of(values[0]) if values and local(values[0]) == "literalExpression" else None
        name = parameter.get("name", "") if parameter is not None else ""
        if text != name:
            raise Refused(binding, "a decision table body is inlined only where each parameter is passed the value "
                          "of the same name")
        bound[name] = translate(text, scope, functions).kind
        ledger.take(binding, parameter)
    for name, declared in function.params:
        if name not in bound or (declared is not None and bound[name] not in (declared, NULL)):
            raise Refused(expression, f"parameter {name!r} of {function.name} is not passed a value of its type")
    ledger.take(expression)
    return function.body


def invocation(expression: ET.Element, ns: str, ledger: Ledger, text_of: Callable[[ET.Element], str],
               scope: dict[str, tuple[str, Any]], functions: dict[str, Function]) -> Tr:
    """An ``invocation``: the named model's body with each binding's value (a missing one is null)."""
    callee = expression.find(f"{ns}literalExpression")
    target = text_of(callee) if callee is not None else ""
    if target not in functions:
        raise Refused(expression, f"invokes {target!r}, which is not a converted business knowledge model it requires")
    named: dict[str, Tr] = {}
    for binding in expression.findall(f"{ns}binding"):
        parameter = binding.find(f"{ns}parameter")
        values = [child for child in binding if local(child) != "parameter"]
        if parameter is None or (values and local(values[0]) != "literalExpression"):
            raise Refused(binding, "a binding whose value is not a literal expression is not converted")
        named[parameter.get("name", "")] = translate(text_of(values[0]), scope, functions) if values else NULL_VALUE
        ledger.take(binding, parameter)
    ledger.take(expression)
    return Translator("", scope, functions).inline(functions[target], [], named)
