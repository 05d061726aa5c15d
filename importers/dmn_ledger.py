"""What the DMN conversion did with each element it read: converted, refused by id, or notation.

Nothing may be dropped silently: the converter records every element it turns into pack
YAML and every element it refuses (with the element's id and why), and a test walks every
element of every TCK model and fails on one that is neither.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

# Elements that carry no decision logic: diagrams, prose, the modeller's own extensions, and the
# business context (who owns a decision, which source it comes from).
NOTATION = frozenset({
    "description", "extensionElements", "question", "allowedAnswers", "textAnnotation", "association",
    "group", "knowledgeSource", "authorityRequirement", "annotation", "annotationEntry", "DMNDI",
})
DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/", "http://www.omg.org/spec/DMN/")


def local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def is_dmn(element: ET.Element) -> bool:
    """Whether an element is of a DMN model namespace (not diagram interchange, not a vendor's)."""
    tag = element.tag
    return tag.startswith("{") and tag[1:].startswith(DMN_NAMESPACES) and "DMNDI" not in tag


class Refused(Exception):
    """An element that cannot be converted to its DMN meaning; ``element`` is named in the refusal."""

    def __init__(self, element: ET.Element | None, reason: str) -> None:
        super().__init__(reason)
        self.element = element
        self.reason = reason


class Ledger:
    """The elements a conversion converted and the ones it refused, by identity."""

    def __init__(self, root: ET.Element) -> None:
        self.root = root
        self._converted: dict[int, ET.Element] = {}
        self._refused: dict[int, str] = {}
        self.refusals: list[str] = []

    def take(self, *elements: ET.Element | None) -> None:
        """Record elements as converted (their meaning is in the pack)."""
        for element in elements:
            if element is not None:
                self._converted[id(element)] = element

    def taken(self, element: ET.Element) -> bool:
        """Whether an element is accounted for: converted, or refused by id."""
        return id(element) in self._converted or id(element) in self._refused

    def take_all(self, element: ET.Element) -> None:
        """Record an element and everything inside it as converted."""
        for inner in element.iter():
            self._converted[id(inner)] = inner

    def refuse(self, element: ET.Element, reason: str, *, where: ET.Element | None = None) -> str:
        """Record ``element`` (and what it holds) as refused; the message names ``where`` (or it) by id."""
        named = where if where is not None else element
        message = f"{local(named)} {named.get('id') or named.get('name') or '(no id)'}: {reason}"
        self._refused[id(element)] = message
        if message not in self.refusals:
            self.refusals.append(message)
        return message

    def notation(self) -> None:
        """Record every notation element (and what it holds) of the model as read."""
        for element in self.root.iter():
            if local(element) in NOTATION or not is_dmn(element):
                self.take_all(element)

    def unaccounted(self) -> Iterator[ET.Element]:
        """DMN elements neither converted nor inside a refused element."""
        yield from self._walk(self.root, refused=False)

    def _walk(self, element: ET.Element, refused: bool) -> Iterator[ET.Element]:
        refused = refused or id(element) in self._refused
        if not refused and id(element) not in self._converted:
            yield element
        for child in element:
            yield from self._walk(child, refused)
