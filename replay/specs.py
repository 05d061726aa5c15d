"""Specs: which pack versions a side of the comparison runs (a folder or git:REF, plus pins)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.compiled import CompiledPack, Decision
from engine.dates import calendar_date
from engine.demand import Wanted
from engine.registry import PackSet, build_pack_set, with_backend
from replay.errors import BadInput
from replay.shared import SharedSteps
from rules.errors import ArbiterError


@dataclass(frozen=True)
class Spec:
    text: str
    folder: Path
    pins: dict[str, str]
    archive: bytes | None = None  # the folder as a tar, for workers on other machines (``packed``)
    # the folder as this process loaded it (the run's backend), for the workers it starts (replay.handover); never packed
    packs: PackSet | None = field(default=None, compare=False, repr=False)


def packed(spec: Spec) -> Spec:
    """The spec with its packs folder inside, so a worker that does not share this file system loads the same packs."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(spec.folder.rglob("*")):  # sorted, without times: the same folder gives the same bytes
            if path.is_file():
                info = tarfile.TarInfo(str(path.relative_to(spec.folder)))
                data = path.read_bytes()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return Spec(spec.text, spec.folder, spec.pins, buffer.getvalue())


def local(spec: Spec) -> Spec:
    """A packed spec as a folder on this machine: extracted once per content, under the temp directory."""
    return spec if spec.archive is None else Spec(spec.text, _unpacked(spec.archive), spec.pins)


def _unpacked(archive: bytes) -> Path:
    folder = Path(tempfile.gettempdir()) / f"arbiter-packs-{hashlib.sha256(archive).hexdigest()[:24]}"
    if not folder.exists():
        staging = Path(tempfile.mkdtemp(prefix="arbiter-packs-"))
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(staging, filter="data")
        try:
            staging.rename(folder)
        except OSError:  # another worker got there first, with the same content
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def parse_pins(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, version = part.partition("@")
        if not name or not version:
            raise BadInput(f"pin {part!r} is not pack@version")
        pins[name] = version
    return pins


LOGGED = "logged"  # the baseline of a decision-log replay: each record's own version, steps as of its date


def resolve_spec(text: str, workdir: Path, other: Spec | None = None) -> Spec:
    """A spec's folder (read from git for ``git:REF``) and pins; ``logged`` reads the other side's folder."""
    if text == LOGGED:
        if other is None:
            raise BadInput("only the baseline can be 'logged' (the versions a decision log names)")
        return Spec(LOGGED, other.folder, {})
    source, _, pins = text.partition("#")
    if source.startswith("git:"):
        ref, _, sub = source[4:].partition(":")
        sub = sub or "policy_packs"
        target = workdir / f"git-{len(list(workdir.iterdir()))}"
        target.mkdir()
        git = shutil.which("git")
        if git is None or ref.startswith("-"):  # a ref must never be read as an option of git
            raise BadInput(f"cannot read packs at {ref!r} (is git installed, is the ref valid?)")
        try:
            archive = subprocess.run([git, "archive", "--format=tar", ref, sub], capture_output=True, check=True).stdout  # noqa: S603
        except subprocess.CalledProcessError as exc:
            raise BadInput(f"cannot read {sub} at {ref}: {(exc.stderr.decode().strip().splitlines() or ['git failed'])[-1]}") from None
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
        folder = target / sub
    else:
        folder = Path(source)
    if not folder.exists():
        raise BadInput(f"no packs folder {folder}")
    return Spec(text, folder, parse_pins(pins))




class SpecPacks:
    """A PackSet seen through a spec: pinned versions, else the newest effective on one date."""

    def __init__(self, packs: PackSet, pins: dict[str, str], effective_on: dt.date,
                 shared: SharedSteps | None = None) -> None:
        self.packs = packs
        self.pins = pins
        self.effective_on = effective_on
        self.shared = shared
        self.steps_decided: list[tuple[str, Decision]] = []  # this order's steps, in the order they ran
        self._found: dict[tuple[str, str | None], CompiledPack] = {}  # a side's choice never changes: looked up once
        for name, version in pins.items():
            packs.get(name, version)  # unknown pins fail at start, not per order

    def get(self, name: str, version: str | None = None, as_of: dt.date | None = None) -> CompiledPack:
        """The pinned version, else ``version``, else the newest effective on the spec's date (``as_of`` does not choose)."""
        found = self._found.get((name, version))
        if found is None:  # an unknown pack or version raises, every time
            if name in self.pins:
                found = self.packs.get(name, self.pins[name])
            else:
                found = self.packs.get(name, version, None if version is not None else self.effective_on)
            self._found[(name, version)] = found
        return found

    def decide_step(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
                    outputs: Wanted = None) -> Decision:
        if self.shared is None:
            decision = pack.decide_step(values, as_of, trusted, outputs)
        else:
            decision = self.shared.decide(pack, values, as_of, trusted, outputs)
        self.steps_decided.append((pack.name, decision))
        return decision

    def all_rows(self, root: str) -> list[str]:
        """Every row that deciding ``root`` could fire, as step.table:row (or table:row)."""
        pack = self.get(root)
        out = []
        if pack.ir.steps:
            for step in pack.ir.steps:
                target = self.get(step.pack, step.version)
                out += [f"{step.id}.{t.id}:{r.id}" for t in target.ir.all_tables for r in t.rows]
        out += [f"{t.id}:{r.id}" for t in pack.ir.all_tables for r in t.rows]
        return out


class Production(SpecPacks):
    """What production ran: the versions a record names (its pack's, its steps'), else each step as of the record's date."""

    def __init__(self, packs: PackSet, pins: dict[str, str], effective_on: dt.date, shared: SharedSteps | None = None) -> None:
        super().__init__(packs, pins, effective_on, shared)
        self.named: dict[str, str] = {}  # pack -> version, of the record being replayed

    def get(self, name: str, version: str | None = None, as_of: dt.date | None = None) -> CompiledPack:
        version = version or self.named.get(name)
        return self.packs.get(name, version, None if version is not None else as_of or self.effective_on)

    def name_versions(self, pack: str, version: str, steps: dict[str, str] | None) -> None:
        """The versions the next record names: its pack's, and for a flow each step's (by the step's pack)."""
        self.named = {pack: version}
        if not steps:
            return
        with contextlib.suppress(ArbiterError):  # a version the folder lacks fails where it is decided, as that order's error
            flow = self.packs.get(pack, version)
            self.named.update({s.pack: steps[s.id] for s in flow.ir.steps if s.id in steps and s.version is None})


def load_spec(spec: Spec, effective_on: dt.date, backend: str = "native", shared: SharedSteps | None = None) -> SpecPacks:
    packs, diagnostics = build_pack_set(local(spec).folder)
    if packs is None:
        for d in diagnostics:
            print(d, file=sys.stderr)
        raise BadInput(f"the packs of {spec.text} do not compile")
    packs, notes = with_backend(packs, backend)
    for note in notes:
        print(f"simulate: {note}", file=sys.stderr)
    if spec.text == LOGGED:
        return Production(packs, {}, effective_on, shared)
    return SpecPacks(packs, spec.pins, effective_on, shared)


def effective_date(text: str | None, flag: str = "--effective-on") -> dt.date:
    """The date a flag names (as the API reads ``as_of``), else today."""
    if not text:
        return dt.datetime.now(dt.UTC).date()
    try:
        return calendar_date(text)
    except ValueError:
        raise BadInput(f"{flag} {text!r} is not a date (YYYY-MM-DD)") from None



