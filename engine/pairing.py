"""Two versions of a pack decided on one input in one generated function that does their common work once.

A replay decides every order with a baseline and a candidate version, which usually differ in a
few values (a discount ceiling, a promotion's dates) while most of their per-line work (a
contract price lookup, a quantity break, a margin floor) is the same. ``pair_evaluator`` merges
the two versions' generated functions statement by statement: a statement whose definition is
the same on both sides (the same code, the same constants by value) and which reads only values
both sides hold alike (the input, constants, values computed once before) is run once; every
other statement runs for each side, the candidate's under renamed locals. A first-hit table
whose test is shared branches once, a loop over a shared list runs once with both bodies merged.

Versions whose input declarations differ (a candidate adds an optional input, changes a
default or a bound) are paired too, when each input the candidate declares otherwise is a plain
value (not a list or an object). The baseline's input is validated as alone; of the
candidate's, only the inputs declared otherwise are validated, into their own dict
(``inp_b``) that its code reads them from. Every other input the candidate reads is declared
alike by both, so validating it for the baseline gave what validating it for the candidate
would: the same value from the same shape (a plain value the flow trusts is passed through
only where it is valid under the declaration, which validation returns unchanged). Only the
candidate's reads of those alike inputs are read from the shared input, so a statement reading
them can be shared; one reading an input declared otherwise cannot.

The result equals deciding each side alone: evaluation is a pure function of (input, as_of), a
shared statement computes the same value from the same values with the same code, and whatever
the merged function raises (a decision error on either side, an invalid input) the caller
decides each side alone instead. Versions whose generated code the merge does not know how to
align (a lambda, a loop's else, an exception handler, a candidate reading its input other than
field by field while declaring it otherwise) are not paired.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Sequence
from copy import deepcopy
from typing import Any

from engine.codegen import generate
from engine.compiled import CompiledPack, Decision, _shape, check_integer_outputs, integer_output_bounds
from engine.demand import Wanted
from engine.inputs import compile_validator
from engine.pair_rows import share_rows
from engine.runtime import NAMESPACE

Paired = Callable[[dict[str, Any], Any, dict[str, Any]], tuple[Any, Any]]  # (a's input, as_of, b's inputs declared otherwise)
Validate = Callable[[Any], dict[str, Any]]

# runtime helpers that compute a value from their arguments alone, without building a container either side may change
_PURE = frozenset({
    "len", "min", "max", "abs", "any", "all", "sum", "_NEG", "_ABS", "_ADD", "_SUB", "_MUL", "_DIV", "_IMUL",
    "n_add", "n_sub", "n_mul", "n_div", "n_neg", "i_add", "i_sub", "i_mul", "lt", "le", "gt", "ge", "and3", "or3",
    "not3", "in_interval", "member", "exact_sum", "agg_sum", "agg_min", "agg_max", "shown", "same_items",
}) | frozenset(k for k, v in NAMESPACE.items() if callable(v) and getattr(v, "__module__", "") == "rules.functions")
# helpers folding a list into a fresh value (or one of its items) by its items alone, in order
_AGGREGATIONS = frozenset({"exact_sum", "agg_sum", "agg_min", "agg_max", "len", "sum", "min", "max", "any", "all"})
_PURE_NODES = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Subscript,
               ast.Tuple, ast.Call, ast.Attribute, ast.Load, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
_STATEMENTS = (ast.Assign, ast.AugAssign, ast.Expr, ast.If, ast.For, ast.Try, ast.Return, ast.Raise, ast.Pass)
_SUFFIX = "_b"
_OWN = "inp_b"  # the merged function's parameter holding the candidate's inputs declared otherwise


class PairedDecisions:
    """Two versions of a pack decided together on one step input, each merged function made once per (a, b, outputs).

    ``reasons=False`` (a replay, which never reads them) leaves the rows' fixed reasons out of both decisions.
    """

    def __init__(self, *, reasons: bool = True) -> None:
        self._found: dict[tuple[str, str, Wanted], _Pair | None] = {}
        self.reasons = reasons

    def decide(self, a: CompiledPack, b: CompiledPack, values: dict[str, Any], as_of: Any, trusted: frozenset[str],
               outputs: Wanted) -> tuple[Decision, Decision] | None:
        """Both decisions of ``values`` as ``a.decide_step`` and ``b.decide_step`` make them (without fixed reasons if so made), or None: decide each alone.

        ``trusted`` names the inputs validated by the caller against a declaration covering
        ``a``'s (``CompiledPack.decide_step``); an input ``b`` declares alike is trusted alike.
        """
        found = self._merged(a, b, outputs)
        if found is None:
            return None
        paired, bounds_a, bounds_b, own = found
        try:
            shared = a.step_input(values, trusted)
            (out_a, matched_a, reasons_a), (out_b, matched_b, reasons_b) = paired(shared, as_of, shared if own is None else own(values))
            check_integer_outputs(bounds_a, out_a)
            check_integer_outputs(bounds_b, out_b)
        except Exception:
            return None
        return (Decision(a.name, a.version, a.digest, as_of, out_a, matched_a, reasons_a),
                Decision(b.name, b.version, b.digest, as_of, out_b, matched_b, reasons_b))


    def pairable(self, a: CompiledPack, b: CompiledPack, outputs: Wanted) -> bool:
        """Whether ``a`` and ``b`` are decided together (else always alone): native, not flows, code aligned, every input ``b`` declares otherwise a plain value."""
        return self._merged(a, b, outputs) is not None

    def _merged(self, a: CompiledPack, b: CompiledPack, outputs: Wanted) -> _Pair | None:
        key = (a.digest, b.digest, outputs)
        if key not in self._found:
            self._found[key] = _compiled(a, b, outputs, self.reasons)
        return self._found[key]


# the merged function, both sides' integer outputs' bounds, and the validator of b's inputs declared otherwise (None: none)
_Pair = tuple[Paired, list[Any], list[Any], Validate | None]


def _compiled(a: CompiledPack, b: CompiledPack, outputs: Wanted, reasons: bool = True) -> _Pair | None:
    """The merged function of two native decision packs, when every input ``b`` declares otherwise than ``a`` is a plain value."""
    if a.backend.name != "native" or b.backend.name != "native" or a.ir.steps or b.ir.steps:
        return None
    # repr, not ==: Decimal("1.0") == Decimal("1.00") == 1, yet a default of each validates to a value of its own scale
    declared = {f.name: repr(_shape(f.spec)) for f in a.ir.inputs}
    own = [f for f in b.ir.inputs if declared.get(f.name) != repr(_shape(f.spec))]
    if any(f.spec.type in ("list", "object") for f in own):
        return None  # a flow may pass a list b trusts, kept whole, that validating here would copy without its extra fields
    paired = pair_evaluator(generate(a.ir, outputs=outputs, reasons=reasons), generate(b.ir, outputs=outputs, reasons=reasons), f"{a.key}|{b.key}",
                            frozenset(f.name for f in own))
    if paired is None:
        return None
    return paired, integer_output_bounds(a.ir), integer_output_bounds(b.ir), compile_validator(own, strict=False) if own else None


class Unpairable(Exception):
    """The two generated functions cannot be merged (the caller decides each side alone)."""


def pair_evaluator(a: tuple[str, dict[str, Any]], b: tuple[str, dict[str, Any]], name: str,
                   own: frozenset[str] = frozenset()) -> Paired | None:
    """``(source, constants)`` of two generated ``evaluate(inp, as_of)`` merged: ``f(inp, as_of, inp_b) -> (a's result, b's)``.

    ``own``: the inputs ``b`` declares otherwise than ``a``, which ``b``'s code reads from ``inp_b``.
    """
    try:
        source, constants = merge_sources(a, b, own)
    except Unpairable:
        return None
    namespace = dict(NAMESPACE)
    namespace.update(constants)
    exec(compile(source, f"<arbiter pair {name}>", "exec"), namespace)  # noqa: S102 - merged from generated code
    paired: Paired = namespace["evaluate"]
    return paired


def merge_sources(a: tuple[str, dict[str, Any]], b: tuple[str, dict[str, Any]],
                  own: frozenset[str] = frozenset()) -> tuple[str, dict[str, Any]]:
    """The merged source and its constants; raises ``Unpairable``."""
    fa, fb = _function(a[0]), _function(b[0])
    if own:
        _OwnInputs(own).visit(fb)
    constants, names_a, names_b = _constants(a[1], b[1])
    merger = _Merger(fa, fb, names_a, names_b)
    if _OWN in merger.local_a or _OWN in merger.local_b:
        raise Unpairable(f"a local named {_OWN}")
    body = merger.block(fa.body, fb.body)
    if not merger.returned:
        raise Unpairable("no return")
    fa.body = body
    fa.args.args.append(ast.arg(arg=_OWN))
    share_rows(fa, _SUFFIX)
    module = ast.Module(body=[fa], type_ignores=[])
    return ast.unparse(ast.fix_missing_locations(module)), constants


def _function(source: str) -> ast.FunctionDef:
    tree = ast.parse(source)
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise Unpairable("not one function")
    function = tree.body[0]
    args = function.args
    if [x.arg for x in args.args] != ["inp", "as_of"] or args.vararg or args.kwarg or args.kwonlyargs or args.defaults:
        raise Unpairable("not evaluate(inp, as_of)")
    for node in ast.walk(function):
        if isinstance(node, ast.stmt) and node is not function and not isinstance(node, _STATEMENTS):
            raise Unpairable(f"statement {type(node).__name__}")
        if isinstance(node, (ast.For, ast.Try)) and (node.orelse or getattr(node, "handlers", None)):
            raise Unpairable("loop else or exception handler")
        if isinstance(node, ast.Lambda):  # its parameters are locals of their own, which the renaming does not scope
            raise Unpairable("a lambda")
    return function


class _OwnInputs(ast.NodeTransformer):
    """The candidate's reads of the inputs it declares otherwise, ``inp['name']``, made from ``inp_b``."""

    def __init__(self, own: frozenset[str]) -> None:
        self.own = own

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        key = node.slice
        if isinstance(node.value, ast.Name) and node.value.id == "inp" and isinstance(key, ast.Constant) \
                and isinstance(key.value, str) and isinstance(node.ctx, ast.Load):
            if key.value in self.own:
                node.value = ast.copy_location(ast.Name(id=_OWN, ctx=ast.Load()), node.value)
            return node
        self.generic_visit(node)
        return node

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == "inp":  # read whole (or assigned): which of its inputs it reads is not known
            raise Unpairable("the input read other than field by field")
        return node


def _same_constant(x: Any, y: Any) -> bool:
    if x is y:
        return True
    return type(x) is type(y) and not callable(x) and repr(x) == repr(y)


def _constants(a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """One namespace for both sides' constants, a constant both hold by value under one name."""
    merged: dict[str, Any] = {}
    names_a = {}
    for i, (name, value) in enumerate(a.items()):
        names_a[name] = f"_KA{i}"
        merged[f"_KA{i}"] = value
    names_b = {}
    for i, (name, value) in enumerate(b.items()):
        same = next((names_a[k] for k, v in a.items() if _same_constant(v, value)), None)
        names_b[name] = same or f"_KB{i}"
        merged.setdefault(names_b[name], value)
    return merged, names_a, names_b


def _locals(function: ast.FunctionDef) -> set[str]:
    found = {x.arg for x in function.args.args}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
    if any(name.startswith("_K") for name in found):
        raise Unpairable("a local named like a merged constant")
    return found


def _stored(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _loaded(nodes: list[ast.stmt]) -> set[str]:
    return {n.id for s in nodes for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _exposed(body: list[ast.stmt], target: str) -> set[str]:
    """Names a loop body reads before it surely assigns them: what one iteration hands the next."""
    assigned = {target}
    exposed: set[str] = set()
    for statement in body:
        exposed |= _loaded([statement]) - assigned
        assigned |= _surely_stored(statement)
    return exposed


def _surely_stored(statement: ast.stmt) -> set[str]:
    """Names ``statement`` assigns on every path through it."""
    if isinstance(statement, ast.Assign):
        return _stored(statement)
    if isinstance(statement, ast.If) and statement.orelse:
        first = set().union(*(_surely_stored(s) for s in statement.body))
        return first & set().union(*(_surely_stored(s) for s in statement.orelse))
    return set()


class _Rename(ast.NodeTransformer):
    """One side's statement in the merged function: its constants and locals under their merged names."""

    def __init__(self, constants: dict[str, str], local: set[str], alias: dict[str, str] | None) -> None:
        self.constants, self.local, self.alias = constants, local, alias

    def visit_Name(self, node: ast.Name) -> ast.Name:
        name = node.id
        if name in self.constants:
            name = self.constants[name]
        elif self.alias is not None and name in self.local:
            name = self.alias.get(name, name + _SUFFIX) if isinstance(node.ctx, ast.Load) else name + _SUFFIX
        return ast.copy_location(ast.Name(id=name, ctx=node.ctx), node)


def _aggregated(node: ast.AST) -> set[str]:
    """Names read only as the list an aggregation folds (``exact_sum(_f0)``): the same items in order give the same value."""
    inside: set[str] = set()
    elsewhere: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _AGGREGATIONS:
            inside.update(a.id for a in n.args if isinstance(a, ast.Name))
            elsewhere.update(m.id for a in n.args if not isinstance(a, ast.Name) for m in ast.walk(a) if isinstance(m, ast.Name))
        elif isinstance(n, ast.Name) and not any(n in c.args for c in ast.walk(node) if isinstance(c, ast.Call)
                                                 and isinstance(c.func, ast.Name) and c.func.id in _AGGREGATIONS):
            elsewhere.add(n.id)
    return inside - elsewhere


def _pure(node: ast.AST) -> bool:
    """Whether ``node`` computes a value from what it reads alone: no container built, nothing called that keeps state."""
    for n in ast.walk(node.value if isinstance(node, ast.Expr) else node):
        if not isinstance(n, _PURE_NODES):
            return False
        if isinstance(n, ast.Call):
            f = n.func
            if n.keywords or not ((isinstance(f, ast.Name) and (f.id in _PURE or f.id.startswith("_K")))
                                  or (isinstance(f, ast.Attribute) and f.attr == "get" and isinstance(f.value, ast.Name))):
                return False
        elif isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load):
            return False
    return True


class _Merger:
    """Walks both functions' statements in step; ``alias`` maps a candidate local to the baseline local holding its value."""

    def __init__(self, fa: ast.FunctionDef, fb: ast.FunctionDef, names_a: dict[str, str], names_b: dict[str, str]) -> None:
        self.local_a, self.local_b = _locals(fa), _locals(fb)
        self.names_a, self.names_b = names_a, names_b
        self.alias: dict[str, str] = {"inp": "inp", "as_of": "as_of"}  # the caller hands both sides one input
        self.returned = False
        self.fb = fb
        self.bound_b = {n.id for c in ast.walk(fb) if isinstance(c, (ast.comprehension, ast.Lambda))
                        for n in ast.walk(c) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}

    def a(self, node: ast.stmt) -> ast.stmt:
        renamed: ast.stmt = _Rename(self.names_a, self.local_a, None).visit(deepcopy(node))
        return renamed

    def b(self, node: ast.stmt) -> ast.stmt:
        renamed: ast.stmt = _Rename(self.names_b, self.local_b, self.alias).visit(deepcopy(node))
        return renamed

    def block(self, xs: list[ast.stmt], ys: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for tag, i1, i2, j1, j2 in _aligned(xs, [_key(self.a(x)) for x in xs], ys, self.names_b):
            if tag == "equal":
                for x, y in zip(xs[i1:i2], ys[j1:j2], strict=True):
                    out += self.pair(x, y)
            else:
                out += self.apart(xs[i1:i2], ys[j1:j2])
        return out

    def apart(self, xs: list[ast.stmt], ys: list[ast.stmt]) -> list[ast.stmt]:
        """Statements of one side without a match on the other: the baseline's, then the candidate's."""
        out: list[ast.stmt] = []
        returns = [s for s in (*xs, *ys) if isinstance(s, ast.Return)]
        if returns:
            if len(returns) == 2 and xs[-1] is returns[0] and ys[-1] is returns[1]:
                out += self.apart(xs[:-1], ys[:-1])
                return out + self.returns(returns[0], returns[1])
            raise Unpairable("a return without its match")
        for x in xs:
            out += [*self.kill(_stored(x)), self.a(x)]
        for y in ys:
            # a candidate local held by a baseline one gets its own copy first: y may read it before it assigns it (a loop's counter)
            out += [_assign(name + _SUFFIX, self.alias.pop(name)) for name in sorted(_stored(y)) if name in self.alias]
            out.append(self.b(y))
        return out

    def kill(self, names: set[str]) -> list[ast.stmt]:
        """Before the baseline assigns ``names`` again: candidate locals aliased to them get their own copy."""
        out: list[ast.stmt] = []
        for name, target in list(self.alias.items()):
            if target in names and name not in ("inp", "as_of"):
                out.append(_assign(name + _SUFFIX, target))
                del self.alias[name]
        return out

    def returns(self, x: ast.stmt, y: ast.stmt) -> list[ast.stmt]:
        if not isinstance(x, ast.Return) or not isinstance(y, ast.Return) or x.value is None or y.value is None:
            raise Unpairable("a bare return")
        self.returned = True
        both = ast.Tuple(elts=[self.a(ast.Expr(value=x.value)).value, self.b(ast.Expr(value=y.value)).value], ctx=ast.Load())  # type: ignore[attr-defined]
        return [ast.Return(value=both)]

    def pair(self, x: ast.stmt, y: ast.stmt) -> list[ast.stmt]:
        if isinstance(x, ast.Assign) and isinstance(y, ast.Assign):
            return self.assign(x, y)
        if isinstance(x, ast.If) and isinstance(y, ast.If) and self.shared(x.test, y.test):
            return self.branch(x, y)
        if isinstance(x, ast.For) and isinstance(y, ast.For) and self.shared(x.iter, y.iter) \
                and isinstance(x.target, ast.Name) and isinstance(y.target, ast.Name) and y.target.id not in self.bound_b:
            return self.loop(x, y)
        if isinstance(x, ast.Try) and isinstance(y, ast.Try):
            body = self.block(x.body, y.body)
            final = [self.b(s) for s in y.finalbody] + [self.a(s) for s in x.finalbody]  # undone in reverse
            return [ast.Try(body=body, handlers=[], orelse=[], finalbody=final)]
        return self.apart([x], [y])

    def shared(self, x: ast.expr, y: ast.expr) -> bool:
        """The same pure expression reading the same values on both sides."""
        wrapped_a, wrapped_b = self.a(ast.Expr(value=x)), self.b(ast.Expr(value=y))
        return _pure(wrapped_a) and ast.dump(wrapped_a) == ast.dump(wrapped_b)

    def assign(self, x: ast.Assign, y: ast.Assign) -> list[ast.stmt]:
        simple = (len(x.targets) == 1 and len(y.targets) == 1 and isinstance(x.targets[0], ast.Name)
                  and isinstance(y.targets[0], ast.Name))
        if not simple or y.targets[0].id in self.bound_b:  # type: ignore[attr-defined]
            return self.apart([x], [y])
        if not self.shared(x.value, y.value):
            return self.reused(x, y)
        target_a, target_b = x.targets[0].id, y.targets[0].id  # type: ignore[attr-defined]
        out = [*self.kill({target_a}), self.a(x)]
        self.alias[target_b] = target_a
        return out

    def reused(self, x: ast.Assign, y: ast.Assign) -> list[ast.stmt]:
        """Both sides' assignments apart; where they differ only in locals, the candidate takes the baseline's value when those hold the same objects.

        ``a0_3_b = t0_0 * (K - a0_1_b) / K`` is ``a0_3`` whenever ``a0_1_b is a0_1``: the same
        pure code of the same objects gives the same value (a line without a promotion, under
        either version's ceiling), so the candidate repeats none of the baseline's arithmetic.
        """
        out = self.apart([x], [y])
        target = x.targets[0].id  # type: ignore[attr-defined]
        guards = self.same_objects(x.value, y.value)
        if not guards or target in guards:  # x reads what it assigns: a guard would read the new value
            return out
        listed = _aggregated(self.a(ast.Expr(value=x.value)))
        tests: list[ast.expr] = [
            ast.Call(func=ast.Name(id="same_items", ctx=ast.Load()), args=[ast.Name(id=name + _SUFFIX, ctx=ast.Load()),
                     ast.Name(id=name, ctx=ast.Load())], keywords=[]) if name in listed else
            ast.Compare(left=ast.Name(id=name + _SUFFIX, ctx=ast.Load()), ops=[ast.Is()], comparators=[ast.Name(id=name, ctx=ast.Load())])
            for name in guards]
        last = out[-1]
        assert isinstance(last, ast.Assign)
        last.value = ast.IfExp(test=tests[0] if len(tests) == 1 else ast.BoolOp(op=ast.And(), values=tests),
                               body=ast.Name(id=target, ctx=ast.Load()), orelse=last.value)
        return out

    def same_objects(self, x: ast.expr, y: ast.expr) -> list[str]:
        """The baseline locals ``n`` whose candidate ``n_b`` stands where ``n`` does in an otherwise equal pure expression; [] if none or not so."""
        wrapped_a, wrapped_b = self.a(ast.Expr(value=x)), self.b(ast.Expr(value=y))
        if not _pure(wrapped_a) or not _pure(wrapped_b):
            return []
        names: dict[str, None] = {}
        for n in ast.walk(wrapped_b):
            if isinstance(n, ast.Name) and n.id.endswith(_SUFFIX) and n.id[:-len(_SUFFIX)] in self.local_b \
                    and n.id[:-len(_SUFFIX)] in self.local_a:
                n.id = n.id[:-len(_SUFFIX)]
                names[n.id] = None
        return list(names) if ast.dump(wrapped_a) == ast.dump(wrapped_b) else []

    def branch(self, x: ast.If, y: ast.If) -> list[ast.stmt]:
        before = dict(self.alias)
        body = self.block(x.body, y.body)
        after_body = self.alias
        self.alias = dict(before)
        orelse = self.block(x.orelse, y.orelse)
        after_else = self.alias
        self.alias = {k: v for k, v in after_body.items() if after_else.get(k) == v}
        body += [_assign(k + _SUFFIX, v) for k, v in after_body.items() if k not in self.alias]
        orelse += [_assign(k + _SUFFIX, v) for k, v in after_else.items() if k not in self.alias]
        return [ast.If(test=self.a(ast.Expr(value=x.test)).value, body=body or [ast.Pass()], orelse=orelse)]  # type: ignore[attr-defined]

    def loop(self, x: ast.For, y: ast.For) -> list[ast.stmt]:
        """One loop over the list both sides iterate; what the candidate carries between iterations is synced at each end."""
        iterate = self.a(ast.Expr(value=x.iter)).value  # type: ignore[attr-defined]
        out = self.kill(set().union(*(_stored(s) for s in x.body)) | {x.target.id})  # type: ignore[attr-defined]
        assigned_b = set().union(*(_stored(s) for s in y.body)) | {y.target.id}  # type: ignore[attr-defined]
        for name in [k for k in self.alias if k in assigned_b]:
            out.append(_assign(name + _SUFFIX, self.alias.pop(name)))
        before = dict(self.alias)
        self.alias[y.target.id] = x.target.id  # type: ignore[attr-defined]
        body = self.block(x.body, y.body)
        outside = _loaded_outside(self.fb, y) | _exposed(y.body, y.target.id)  # type: ignore[attr-defined]
        body += [_assign(k + _SUFFIX, v) for k, v in self.alias.items() if k in assigned_b and k in outside]
        self.alias = before
        return [*out, ast.For(target=self.a(ast.Expr(value=x.target)).value, iter=iterate, body=body, orelse=[])]  # type: ignore[attr-defined]


def _aligned(xs: list[ast.stmt], keys_a: list[str], ys: list[ast.stmt], names_b: dict[str, str]) -> Sequence[tuple[str, int, int, int, int]]:
    """The baseline's statements (by key) aligned with the candidate's, as ``difflib`` opcodes.

    A value both compute under different names (a candidate that adds a derived value numbers
    the later ones otherwise) aligns once the candidate's reads of its name are read as the
    baseline's: aligned assignments name the candidate's locals after the baseline's, and the
    candidate's keys are made again until no new name is found. Only which statements are
    tried together depends on it; whether they are shared is decided by ``_Merger.pair``.
    """
    guess: dict[str, str] = {}
    for _ in range(len(ys) + 1):  # each round names at least one more local, or ends
        keys_b = [_key(_Rename(names_b, set(guess), guess).visit(deepcopy(y))) for y in ys]
        opcodes = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_opcodes()
        found = {_target(y): _target(x) for tag, i1, i2, j1, j2 in opcodes if tag == "equal"
                 for x, y in zip(xs[i1:i2], ys[j1:j2], strict=True) if _target(x) and _target(y)}
        if found.items() <= guess.items():
            break
        guess.update(found)
    return opcodes


def _target(node: ast.stmt) -> str:
    """The name a one-name assignment sets, else ''."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return ""


def _key(node: ast.stmt) -> str:
    """What aligns two statements: a compound one by its head (its bodies are merged in turn), an assignment by its value."""
    if _target(node):
        return "= " + ast.dump(node.value)  # type: ignore[attr-defined]
    if isinstance(node, ast.If):
        return "if " + ast.dump(node.test)
    if isinstance(node, ast.For):
        return "for " + ast.dump(node.target) + ast.dump(node.iter)
    if isinstance(node, ast.Try):
        return "try"
    return ast.dump(node)


def _loaded_outside(function: ast.FunctionDef, loop: ast.For) -> set[str]:
    """Names ``function`` reads outside ``loop``'s body."""
    inside = {id(n) for s in loop.body for n in ast.walk(s)}
    return {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in inside}


def _assign(target: str, source: str) -> ast.stmt:
    return ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=ast.Name(id=source, ctx=ast.Load()), lineno=0)
