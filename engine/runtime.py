"""The only names generated code can reach.

Generated modules are executed with ``{"__builtins__": {}}`` plus this namespace, so an
expression compiles to calls of these helpers and nothing else. Null semantics live here:
arithmetic and ordering with null give null; ``and``/``or`` are three-valued (Kleene);
``=`` treats null as a value that equals only null; division by zero gives null.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import getcontext, localcontext, setcontext
from operator import is_
from typing import Any

from rules.decimals import CTX, QUANTIZE, quantize
from rules.errors import DecisionError
from rules.functions import FUNCTIONS
from rules.reasons import shown

__all__ = ["CTX", "NAMESPACE", "QUANTIZE", "quantize"]


_add = CTX.add


def n_add(a: Any, b: Any) -> Any:
    return None if a is None or b is None else CTX.add(a, b)


def n_sub(a: Any, b: Any) -> Any:
    return None if a is None or b is None else CTX.subtract(a, b)


def n_mul(a: Any, b: Any) -> Any:
    return None if a is None or b is None else CTX.multiply(a, b)


def n_div(a: Any, b: Any) -> Any:
    if a is None or b is None or b == 0:
        return None
    return CTX.divide(a, b)


def n_neg(a: Any) -> Any:
    return None if a is None else -a if a.__class__ is int else CTX.minus(a)


# Whole numbers are Python ints, unbounded: a product past this is an arithmetic error, as a
# Decimal past CTX's exponent is, so repeated squaring stops after a few steps instead of
# growing numbers of millions of digits (docs/expressions.md, "Bounds").
INT_LIMIT = 10**36


def imul(a: Any, b: Any) -> Any:
    product = a * b
    if -INT_LIMIT < product < INT_LIMIT:
        return product
    raise OverflowError("a whole-number product beyond 10^36")


def i_add(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a + b


def i_sub(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a - b


def i_mul(a: Any, b: Any) -> Any:
    return None if a is None or b is None else imul(a, b)


def lt(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a < b


def le(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a <= b


def gt(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a > b


def ge(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a >= b


def and3(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def or3(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def not3(a: Any) -> Any:
    return None if a is None else not a


def in_interval(x: Any, low: Any, high: Any, low_closed: bool, high_closed: bool) -> bool:
    if x is None or low is None or high is None:
        return False
    if (x < low) if low_closed else (x <= low):
        return False
    return bool((x <= high) if high_closed else (x < high))


def member(obj: Any, name: str) -> Any:
    return None if obj is None else obj.get(name)


def agg_sum(values: Iterable[Any]) -> Any:
    return exact_sum([v for v in values if v is not None])


def exact_sum(values: list[Any]) -> Any:
    """``sum(values)`` under CTX: the same additions, in the same order, giving the same types.

    The builtin sum adds in C, but switching to CTX costs what adding a few numbers one by
    one does, so a short list (an order's few amounts, a graph's cart) is added here.
    """
    if len(values) > 8:
        with localcontext(CTX):
            return sum(values)
    total: Any = 0
    for v in values:
        total = total + v if total.__class__ is int and v.__class__ is int else _add(total, v)
    return total


def sum_by(cache: dict[int, Any], items: Any, key: str, amount: str, exact: bool) -> tuple[Any, dict[Any, Any]]:
    """(items, totals of ``amount`` per ``key`` over ``items``), cached by the list's id for one evaluation.

    The cached pair holds the list, so its id cannot be reused by another list while cached.
    """
    totals: dict[Any, Any] = {}
    if exact:
        with localcontext(CTX):
            for item in items:
                k = item[key]
                totals[k] = totals.get(k, 0) + item[amount]
    else:
        for item in items:
            k = item[key]
            totals[k] = totals.get(k, 0) + item[amount]
    found = cache[id(items)] = (items, totals)
    return found


def same_items(a: Any, b: Any) -> bool:
    """``a is b``, or two lists of the same objects in the same order: a pure fold of either gives the same value (engine.pairing)."""
    return a is b or (a.__class__ is list and b.__class__ is list and len(a) == len(b) and all(map(is_, a, b)))


def agg_min(values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def agg_max(values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def fail(code: str, message: str, table: str) -> Any:
    raise DecisionError(code, message, table)


def any_agree(table: str, outputs: list[Any]) -> Any:
    first = outputs[0]
    for other in outputs[1:]:
        if other != first:
            raise DecisionError("any-conflict", f"table {table!r}: rows of an 'any' table disagree", table)
    return first


NAMESPACE: dict[str, Any] = {
    "__builtins__": {},
    "len": len, "sum": sum, "min": min, "max": max, "any": any, "all": all, "sorted": sorted, "next": next, "tuple": tuple, "list": list,
    "id": id, "abs": abs,
    "CTX": CTX, "getcontext": getcontext, "setcontext": setcontext,
    "_NEG": CTX.minus, "_ABS": CTX.abs, "_ADD": CTX.add, "_SUB": CTX.subtract, "_MUL": CTX.multiply, "_DIV": CTX.divide, "_IMUL": imul,
    "n_add": n_add, "n_sub": n_sub, "n_mul": n_mul, "n_div": n_div, "n_neg": n_neg,
    "i_add": i_add, "i_sub": i_sub, "i_mul": i_mul,
    "lt": lt, "le": le, "gt": gt, "ge": ge, "and3": and3, "or3": or3, "not3": not3,
    "in_interval": in_interval, "member": member, "same_items": same_items,
    "agg_sum": agg_sum, "exact_sum": exact_sum, "sum_by": sum_by, "agg_min": agg_min, "agg_max": agg_max,
    "fail": fail, "any_agree": any_agree, "shown": shown,
}
# The expression language's functions, under the names generated code calls them by.
for _function in FUNCTIONS.values():
    if _function.runtime is not None:
        assert _function.runtime.__name__ not in NAMESPACE, f"{_function.name} would shadow a runtime helper"
        NAMESPACE[_function.runtime.__name__] = _function.runtime
