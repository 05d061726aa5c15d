"""A table's fired rows that both sides of a merged function (engine.pairing) record alike, recorded once.

A table whose test both versions share fires the same rows on both sides; the merged function
appends each row id to the baseline's list and then the same id to the candidate's, once a
line. When every append to the candidate's list directly follows the same append to the
baseline's, in the same block, and nothing else touches either list, the two lists always hold
the same ids, so the candidate's decision is given the baseline's list and its appends are
dropped. The two decisions then share that list, as two sides sharing a step already share a
whole decision: nothing changes a decision's rows once it is made.
"""

from __future__ import annotations

import ast
from collections import Counter


def share_rows(function: ast.FunctionDef, suffix: str) -> None:
    """Give the candidate's tables (``matched{suffix}``) the baseline's row lists where both record them alike."""
    uses = Counter(n.id for n in ast.walk(function) if isinstance(n, ast.Name))
    blocks = [body for node in ast.walk(function) for field in ("body", "orelse", "finalbody")
              if isinstance(body := getattr(node, field, None), list)]
    appends: dict[str, list[tuple[list[ast.stmt], int]]] = {}
    for body in blocks:
        for i, statement in enumerate(body):
            found = _appended(statement)
            if found is not None:
                appends.setdefault(found[0], []).append((body, i))
    dropped: list[tuple[list[ast.stmt], ast.stmt]] = []
    for body in blocks:
        made = {key: i for i, s in enumerate(body) if (key := _made(s)) is not None}
        for (owner, table), at in made.items():
            first = made.get(("matched", table))
            if owner != "matched" + suffix or first is None or first > at:
                continue
            mine, theirs = _target(body[at]), _target(body[first])
            ours, others = appends.get(mine, []), appends.get(theirs, [])
            if uses[mine] != len(ours) + 1 or uses[theirs] != len(others) + 1 or len(ours) != len(others):
                continue  # read or changed otherwise than appended to
            if all(i > 0 and _appended(statements[i - 1]) == (theirs, _appended(statements[i])[1])  # type: ignore[index]
                   for statements, i in ours):
                body[at].value = ast.Name(id=theirs, ctx=ast.Load())
                dropped += [(statements, statements[i]) for statements, i in ours]
    for statements, statement in dropped:
        statements.remove(statement)


def _made(statement: ast.stmt) -> tuple[str, str] | None:
    """(dict, table) of ``dict['table'] = name = []``, else None."""
    if not isinstance(statement, ast.Assign) or len(statement.targets) != 2:
        return None
    first, second = statement.targets
    value = statement.value
    if (isinstance(first, ast.Subscript) and isinstance(first.value, ast.Name) and isinstance(first.slice, ast.Constant)
            and isinstance(first.slice.value, str) and isinstance(second, ast.Name)
            and isinstance(value, ast.List) and not value.elts):
        return first.value.id, first.slice.value
    return None


def _target(statement: ast.stmt) -> str:
    return statement.targets[1].id  # type: ignore[attr-defined, no-any-return]


def _appended(statement: ast.stmt) -> tuple[str, str] | None:
    """(list, row id) of ``name.append('id')``, else None."""
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return None
    call = statement.value
    f = call.func
    if (isinstance(f, ast.Attribute) and f.attr == "append" and isinstance(f.value, ast.Name) and len(call.args) == 1
            and not call.keywords and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
        return f.value.id, call.args[0].value
    return None
