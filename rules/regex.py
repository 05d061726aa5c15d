"""XPath regular expressions (the dialect of XML Schema, XPath 3.1 and DMN FEEL) run by Python's ``re``, with
XPath's meaning or not at all.

``elementpath`` translates the pattern (character class subtraction, ``\\p{IsBlock}``, ``\\i``, ``.`` not matching
a line end, ``$`` only at the very end); what Python would still read differently is rewritten first or refused:
``\\w``, ``\\s`` and ``\\d`` outside a class (Python's are wider), the ``x`` flag (Python's allows ``#`` comments
and keeps an escaped space), ``\\0`` (NUL to Python, an error to XPath), and back-references where a group might
not take part (XPath matches an empty string there, Python fails). Replacement strings are read by XPath's rules
(``$N``, ``\\$``, ``\\\\``) into parts, so Python's ``\\g<..>`` escapes never apply.
"""

from __future__ import annotations

import re
from functools import lru_cache

from elementpath.regex import RegexError, translate_pattern

FLAGS = {"s": re.DOTALL, "m": re.MULTILINE, "i": re.IGNORECASE, "x": 0, "q": 0}
WHITESPACE = " \t\n\r"  # what the x flag removes (XPath 3.1, 5.6.1.1)
CLASS_ESCAPES = "wWsSdD"  # Python's differ outside a class; elementpath spells them out inside one


class PatternError(ValueError):
    """Not a valid XPath pattern, flags or replacement: XPath raises an error (FEEL answers null)."""


class PatternRefused(ValueError):
    """A valid pattern that Python's ``re`` would not match as XPath does."""


@lru_cache(maxsize=512)
def compiled(pattern: str, flags: str = "") -> re.Pattern[str]:
    """The Python regular expression with the meaning of an XPath pattern and flags (``smixq``)."""
    if set(flags) - set(FLAGS):
        raise PatternError(f"the flags {flags!r} are not among s, m, i, x and q")
    python_flags = 0
    for flag in set(flags):
        python_flags |= FLAGS[flag]
    if "q" in flags:
        return re.compile(re.escape(pattern), python_flags & re.IGNORECASE)
    try:
        translated = translate_pattern(_prepared(pattern, "x" in flags), python_flags)
        return re.compile(translated, python_flags)
    except (RegexError, re.error, OverflowError) as exc:
        raise PatternError(f"{pattern!r} is not a valid pattern: {exc}") from None


def _prepared(pattern: str, extended: bool) -> str:
    """The pattern with the x flag's white space removed and class escapes bracketed outside classes (``\\w`` as
    ``[\\w]``, which elementpath spells out as XML Schema defines it); back-references checked."""
    out: list[str] = []
    depth = i = 0
    while i < len(pattern):
        char = pattern[i]
        i += 1
        if extended and depth == 0 and char in WHITESPACE:
            continue
        if char == "\\":
            while extended and depth == 0 and i < len(pattern) and pattern[i] in WHITESPACE:
                i += 1
            if i == len(pattern):
                raise PatternError(f"{pattern!r} ends with a lone backslash")
            escape = pattern[i]
            i += 1
            if escape == "0":
                raise PatternError(f"{pattern!r} has \\0, which is no escape")
            if escape.isdigit() and depth == 0:
                _back_reference(pattern, i)
            out.append(f"[\\{escape}]" if escape in CLASS_ESCAPES and depth == 0 else "\\" + escape)
            continue
        depth += {"[": 1, "]": -1 if depth else 0}.get(char, 0)
        out.append(char)
    return "".join(out)


def _back_reference(pattern: str, end: int) -> None:
    """Refuse a back-reference Python might read otherwise: of two digits, or where some group may not take part."""
    if end < len(pattern) and pattern[end].isdigit():
        raise PatternRefused(f"the back-reference in {pattern!r} is followed by a digit")
    if any(c in pattern for c in "|?*{"):
        raise PatternRefused(f"a back-reference in {pattern!r}, where a group may not take part, is not converted")


def replacement(template: str, groups: int, literal: bool = False) -> tuple[str | int, ...]:
    """An XPath replacement string as literal text and group numbers: ``$N`` (the longest number that is a group),
    ``\\$`` and ``\\\\``; with the q flag the text as it is."""
    if literal:
        return (template,)
    parts: list[str | int] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\":
            if template[i + 1:i + 2] not in ("\\", "$"):
                raise PatternError(f"the replacement {template!r} has a backslash that escapes neither \\ nor $")
            parts.append(template[i + 1])
            i += 2
        elif char == "$":
            digits = re.match(r"\d+", template[i + 1:])
            if digits is None:
                raise PatternError(f"the replacement {template!r} has a $ that names no group")
            number = digits[0]
            while len(number) > 1 and int(number) > groups:
                number = number[:-1]
            if int(number) > groups:
                raise PatternRefused(f"the replacement {template!r} names group ${number}, which the pattern lacks")
            parts.append(int(number))
            i += 1 + len(number)
        else:
            parts.append(char)
            i += 1
    return tuple(parts)


def checked(pattern: str, flags: str, template: str | None = None, splits: bool = False) -> re.Pattern[str]:
    """The compiled pattern of ``matches``, ``replace`` (with its replacement) or ``tokenize``, or PatternError /
    PatternRefused; a pattern that matches the empty text cannot replace or split (XPath's FORX0003)."""
    regex = compiled(pattern, flags)
    if (template is not None or splits) and regex.search("") is not None:
        raise PatternError(f"{pattern!r} matches the empty text")
    if template is not None:
        replacement(template, regex.groups, "q" in flags)
    return regex


def matches(text: str | None, pattern: str | None, flags: str = "") -> bool | None:
    """Whether some part of the text matches the pattern."""
    if text is None or pattern is None or flags is None:
        return None
    return compiled(pattern, flags).search(text) is not None


def replace(text: str | None, pattern: str | None, template: str | None, flags: str = "") -> str | None:
    """The text with each match of the pattern replaced (``$1`` a group's text, empty where it took no part)."""
    if text is None or pattern is None or template is None or flags is None:
        return None
    regex = compiled(pattern, flags)
    parts = _parts(template, regex.groups, "q" in flags)
    return regex.sub(lambda m: "".join(p if isinstance(p, str) else m.group(p) or "" for p in parts), text)


@lru_cache(maxsize=512)
def _parts(template: str, groups: int, literal: bool) -> tuple[str | int, ...]:
    return replacement(template, groups, literal)


def tokenize(text: str | None, pattern: str | None, flags: str = "") -> list[str] | None:
    """The parts of a text between the pattern's matches (XPath's ``tokenize``: an empty text has none)."""
    if text is None or pattern is None or flags is None:
        return None
    if not text:
        return []
    parts, start = [], 0
    for match in compiled(pattern, flags).finditer(text):
        parts.append(text[start:match.start()])
        start = match.end()
    parts.append(text[start:])
    return parts
