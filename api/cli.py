"""The ``arbiter`` command: check, test, decide, schema, serve.

Exit codes: 0 success, 1 a finding (a pack error, a failed test, a refused input),
2 a usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from api import request_body
from engine import jsonio
from engine.backend import NATIVE
from engine.backends import BACKENDS
from engine.checks import check_pack_set
from engine.compiled import compile_pack
from engine.dates import calendar_date
from engine.registry import build_pack_set
from engine.testing import run_pack_tests
from rules.errors import ArbiterError, Diagnostic, InputError, MalformedRequest, UnknownPack, UnknownVersion, ordered
from rules.model import pack_format_schema
from rules.schema import input_document
from rules.stages import Timings, timed

DEFAULT_PACKS = "policy_packs"
DMN_TCK = ["../shared/data/dmn-tck/compliance-level-2", "../shared/data/dmn-tck/compliance-level-3"]


def _details(d: Diagnostic) -> list[str]:
    lines = []
    if "counterexample" in d.extra:
        lines.append("counterexample: " + jsonio.dumps(d.extra["counterexample"]).decode())
    if "as_of" in d.extra:
        lines.append(f"as_of: {d.extra['as_of'].isoformat()}")
    if "output" in d.extra:
        lines.append("decision: " + jsonio.dumps(d.extra["output"]).decode())
    if d.extra.get("method") == "search" and d.severity == "error":
        lines.append("found by a seeded search over the declared inputs")
    return lines


def _github_escape(text: str, also: str = "") -> str:
    """A workflow command's data (or, with ``also=":,"``, a property): a crafted folder name cannot forge a second annotation."""
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return escaped.replace(":", "%3A").replace(",", "%2C") if also else escaped


def _print_diagnostics(diagnostics: list[Diagnostic], fmt: str) -> None:
    if fmt == "json":
        sys.stdout.buffer.write(jsonio.dumps([d.as_dict() for d in diagnostics], pretty=True) + b"\n")
        return
    for d in diagnostics:
        if fmt == "github":
            level = "error" if d.severity == "error" else "warning"
            message = _github_escape("\n".join([d.message, *_details(d)]))
            path = _github_escape(d.path, ":,")
            print(f"::{level} file={path},line={d.position.line},col={d.position.col},title={d.code}::{message}")
        else:
            print(d if d.severity == "error" else f"{d} (warning)")
            for line in _details(d):
                print(f"    {line}")


def cmd_check(args: argparse.Namespace) -> int:
    timings: Timings = {}
    pack_set, diagnostics = build_pack_set(Path(args.dir), partial=True, timings=timings)  # a broken pack does not hide the others' findings
    if pack_set is not None:  # --no-analysis still checks across packs (codes, step contracts, dates): it is quick
        known = _known_versions(Path(args.dir), args.base)
        with timed(timings, "analyse"):
            diagnostics = ordered(diagnostics + check_pack_set(pack_set, known, analyse=not args.no_analysis,
                                                                 workers=os.cpu_count() or 1))
    if args.timings:
        for stage, seconds in timings.items():
            print(f"{stage:>10} {seconds * 1000:9.1f} ms", file=sys.stderr)
    _print_diagnostics(diagnostics, args.format)
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if args.format == "human":
        count = sum(1 for _ in pack_set) if pack_set is not None else 0
        print(f"checked {count} pack version(s) in {args.dir}: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if pack_set is None or errors else 0


def _known_versions(root: Path, given: str | None) -> set[tuple[str, str]] | None:
    """The pack versions at the git base (engine.dates.base_ref says which); None, and a note, if there is none."""
    from engine.dates import base_ref, known_at

    ref = base_ref(root, given)
    known = known_at(root, ref) if ref is not None else None
    if known is None:
        print(f"arbiter check: no git base{f' {given!r}' if given else ''} for {root}: "
              "retroactive effective dates are not checked", file=sys.stderr)
    return known


def cmd_test(args: argparse.Namespace) -> int:
    pack_set, diagnostics = build_pack_set(Path(args.dir))
    if pack_set is None:
        _print_diagnostics(diagnostics, "human")
        print("0 passed, 1 failed (the packs do not compile)")
        return 1
    passed = failed = 0
    short: list[str] = []
    for pack in pack_set:
        report = run_pack_tests(pack)
        positions = pack.ir.test_positions
        for outcome in report.outcomes:
            if outcome.passed:
                passed += 1
                continue
            failed += 1
            where = f"{pack.ir.path}:{positions[outcome.index]}" if outcome.index < len(positions) else pack.ir.path
            for failure in outcome.failures:
                print(f"{where}: test-failed: {outcome.name!r}: {failure}")
        hit, total, missed = report.coverage()
        tests = len(report.outcomes)
        if total and args.min_coverage is not None and 100 * hit < args.min_coverage * total:
            short.append(f"{pack.ir.path}: coverage-below-minimum: {pack.key} covers {hit}/{total} rows, "
                         f"under --min-coverage {args.min_coverage:g}%: " + ", ".join(missed))
        if total:
            line = f"{pack.key}: {tests} test(s), row coverage {hit}/{total} ({100 * hit / total:.0f}%)"
        else:
            line = f"{pack.key}: {tests} test(s), no tables of its own"
        if missed and args.verbose:
            line += " not hit: " + ", ".join(missed)
        elif missed:
            line += f", {len(missed)} row(s) never hit (-v lists them)"
        print(line)
    for line in short:
        print(line)
    print(f"{passed} passed, {failed} failed" + (f", {len(short)} pack version(s) under the coverage minimum" if short else ""))
    return 1 if failed or short else 0


JSON_PLACE = re.compile(r"(.*) at line (\d+) column (\d+)")


def _read_input(source: str) -> object:
    """The input file as the API reads a body: exact decimals, and a key given twice refused at its JSON pointer."""
    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    return request_body.loads(raw)


def _refused_input(source: str, exc: ArbiterError) -> int:
    """Input the pack cannot take: each problem at file:line:col or its JSON pointer; exit 2, as for a bad argument."""
    name = "<stdin>" if source == "-" else source
    if isinstance(exc, InputError):
        for problem in exc.problems:
            print(f"{name}: {problem.pointer or '/'}: {problem.code}: {problem.message}", file=sys.stderr)
        return 2
    place = JSON_PLACE.fullmatch(exc.message)
    where = f"{name}:{place[2]}:{place[3]}: {place[1]}" if place else f"{name}: {exc.message}"
    print(f"{where}", file=sys.stderr)
    return 2


def cmd_decide(args: argparse.Namespace) -> int:
    pack_set, diagnostics = build_pack_set(Path(args.packs))
    if pack_set is None:
        _print_diagnostics(diagnostics, "human")
        return 1
    try:
        as_of = calendar_date(args.as_of) if args.as_of else dt.datetime.now(dt.UTC).date()
    except ValueError:
        print(f"arbiter decide: --as-of {args.as_of!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    try:
        raw = _read_input(args.input)
        pack = pack_set.get(args.pack, args.version, as_of)
        if args.backend != NATIVE.name:
            pack = compile_pack(pack.ir, BACKENDS[args.backend])
        decision = pack.decide(raw, as_of, trace=args.trace)
    except OSError as exc:
        print(f"arbiter decide: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 2
    except (InputError, MalformedRequest) as exc:
        return _refused_input(args.input, exc)
    except ArbiterError as exc:
        print(f"arbiter decide: {exc.code}: {exc.message}", file=sys.stderr)
        return 2 if isinstance(exc, (UnknownPack, UnknownVersion)) else 1
    sys.stdout.buffer.write(jsonio.dumps(decision.as_dict(), pretty=args.pretty) + b"\n")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    if args.pack is None:
        print(json.dumps(pack_format_schema(), indent=2, default=str))
        return 0
    pack_set, diagnostics = build_pack_set(Path(args.packs))
    if pack_set is None:
        _print_diagnostics(diagnostics, "human")
        return 1
    try:
        pack = pack_set.get(args.pack)
    except ArbiterError as exc:
        print(f"arbiter schema: {exc.message}", file=sys.stderr)
        return 1
    document = input_document(pack.name, {f.name: f.spec for f in pack.ir.inputs})
    sys.stdout.buffer.write(jsonio.dumps(document, pretty=True) + b"\n")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from importers import dmn, jdm
    from importers.dmn_conformance import compiled_conversion, write_dmn

    source = Path(args.model)
    diagnostics: list[Diagnostic] = []
    try:
        if args.format == "dmn":  # a decision whose pack would not compile is refused by its element id
            converted: dmn.DmnPack | jdm.JdmPack
            converted, packs, diagnostics = compiled_conversion(source)
            diagnostics = [] if packs is not None else [d for d in diagnostics if d.severity == "error"]
        else:
            converted = jdm.convert(source)
    except (OSError, ValueError) as exc:  # ElementTree's ParseError and JSONDecodeError are ValueErrors
        print(f"arbiter import: cannot read {source}: {exc}", file=sys.stderr)
        return 1
    for diagnostic in diagnostics:  # what is left does not compile as a whole: nothing is written
        print(f"{source}: not converted: the converted packs do not compile: {diagnostic}", file=sys.stderr)
    for item in converted.unsupported:
        print(f"{source}: not converted: {item}", file=sys.stderr)
    for remark in converted.remarks() if isinstance(converted, jdm.JdmPack) else []:
        print(f"{source}: note: {remark}", file=sys.stderr)
    if not converted.document or diagnostics:
        return 1
    if isinstance(converted, dmn.DmnPack):
        written = write_dmn(converted, Path(args.out))
    else:
        folder = Path(args.out) / converted.document["pack"]
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / f"{converted.document['version']}.yaml"]
        written[0].write_text(jdm.to_yaml(converted), encoding="utf-8")
    for target in written:
        print(f"wrote {target}", file=sys.stderr)
    return 1 if converted.unsupported else 0


def cmd_conformance(args: argparse.Namespace) -> int:
    """DMN TCK suites and zen's graphs through the importers: per suite and model, cases passed, failed, unsupported."""
    from importers.dmn_conformance import report, run_suite

    failed = 0
    for suite in args.dmn_tck or DMN_TCK:
        outcomes = run_suite(Path(suite))
        for line in report(Path(suite).name, outcomes, args.verbose):
            print(line)
        failed += sum(len(o.failures) for o in outcomes)
    return 1 if failed + _zen_conformance(Path(args.zen)) else 0


def _zen_conformance(graphs: Path) -> int:
    """zen's graphs through the JDM importer; returns the number of failed cases."""
    from importers.conformance import run_zen

    outcomes = run_zen(graphs)
    for o in outcomes:
        if not o.imported:
            print(f"{o.name}: unsupported: {'; '.join(o.problems)}")
        for failure in o.failures:
            print(f"{o.name} {failure}: failed")
    imported = sum(o.imported for o in outcomes)
    cases = sum(o.passed + len(o.failures) for o in outcomes)
    failed = sum(len(o.failures) for o in outcomes)
    print(f"zen: {imported} graphs imported, {len(outcomes) - imported} unsupported; "
          f"{cases - failed} cases passed, {failed} failed")
    return failed


def cmd_serve(args: argparse.Namespace) -> int:
    from api.server import serve

    # the flags win; without them the variables the README lists for them, never ignored
    packs = args.packs or os.environ.get("ARBITER_PACKS") or DEFAULT_PACKS
    backend = args.backend or os.environ.get("ARBITER_BACKEND") or NATIVE.name
    return serve(packs=packs, host=args.host, port=args.port, workers=args.workers, backend=backend,
                 log_level=args.log_level)


def installed_version() -> str:
    """The installed distribution's version (pyproject.toml), or 'unknown' when run from a bare checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("arbiter")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbiter", description="Arbiter decision service")
    parser.add_argument("--version", action="version", version=f"arbiter {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    _add_check(sub)

    test = sub.add_parser("test", help="run the tests embedded in the packs")
    test.add_argument("dir", nargs="?", default=DEFAULT_PACKS)
    test.add_argument("-v", "--verbose", action="store_true", help="list rows no test reaches")
    test.add_argument("--min-coverage", type=float, metavar="PCT",
                      help="fail when a pack version's tests reach less than PCT %% of its rows")
    test.set_defaults(func=cmd_test)

    decide = sub.add_parser("decide", help="one decision as JSON on stdout")
    decide.add_argument("pack")
    decide.add_argument("input", nargs="?", default="-", help="input JSON file, or - for stdin")
    decide.add_argument("--packs", default=DEFAULT_PACKS)
    decide.add_argument("--version")
    decide.add_argument("--as-of", help="decision date (default: today, UTC)")
    decide.add_argument("--trace", action="store_true")
    decide.add_argument("--pretty", action="store_true")
    decide.add_argument("--backend", choices=sorted(BACKENDS), default="native",
                        help="who matches the rows: generated code (default) or durable_rules")
    decide.set_defaults(func=cmd_decide)

    schema = sub.add_parser("schema", help="JSON Schema of the pack format, or of one pack's input")
    schema.add_argument("--pack", help="print the input schema of this pack (newest version) instead")
    schema.add_argument("--packs", default=DEFAULT_PACKS)
    schema.set_defaults(func=cmd_schema)

    imp = sub.add_parser("import", help="write a pack from a DMN model or a GoRules JDM graph")
    imp.add_argument("format", choices=["dmn", "jdm"])
    imp.add_argument("model")
    imp.add_argument("--out", default="imported_packs")
    imp.set_defaults(func=cmd_import)

    conformance = sub.add_parser("conformance", help="run the DMN TCK and zen graphs through the importers")
    conformance.add_argument("--dmn-tck", action="append", help="a folder of DMN TCK models (repeatable; default: levels 2 and 3)")
    conformance.add_argument("-v", "--verbose", action="store_true", help="every reason cases are unsupported, not the first three")
    conformance.add_argument("--zen", default="../shared/data/zen/graphs", help="folder of GoRules JDM graphs with tests")
    conformance.set_defaults(func=cmd_conformance)

    simulate = sub.add_parser("simulate", help="what-if replay of historic orders (same as python simulate.py)", add_help=False)
    simulate.add_argument("rest", nargs=argparse.REMAINDER)  # handed to simulate.py by main()
    diff = sub.add_parser("diff", help="what changed between two versions of the packs (SPEC_A SPEC_B [PACK])", add_help=False)
    diff.add_argument("rest", nargs=argparse.REMAINDER)  # handed to replay.cli.diff_main by main()

    _add_serve(sub)
    return parser


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="load, type-check and analyse every pack")
    check.add_argument("dir", nargs="?", default=DEFAULT_PACKS)
    check.add_argument("--format", choices=["human", "json", "github"], default="human")
    check.add_argument("--no-analysis", action="store_true", help="load, compile and check across packs; skip the tables' analysis and the invariant search")
    check.add_argument("--base", metavar="REF",
                       help="git revision whose pack versions are not new (default: the merge base of HEAD with "
                            "origin/main, main or master); a new version effective before today is a warning")
    check.add_argument("--timings", action="store_true", help="print the time each compile stage took, summed over the packs")
    check.set_defaults(func=cmd_check)


def _ranged(low: int, high: int) -> Callable[[str], int]:
    def whole(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {low} to {high}")
        return int(text)
    return whole


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve the packs over HTTP")
    serve.add_argument("--packs", help=f"folder of packs (default: ARBITER_PACKS, else {DEFAULT_PACKS})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_ranged(0, 65535), default=8000)
    serve.add_argument("--workers", type=_ranged(1, 1024), default=1)
    serve.add_argument("--backend", choices=sorted(BACKENDS), help="default: ARBITER_BACKEND, else native")
    serve.add_argument("--log-level", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                       help="JSON logs on stderr from this level (default: ARBITER_LOG_LEVEL, else INFO, which logs "
                            "one access line per request)")
    serve.set_defaults(func=cmd_serve)


def _parse(parser: argparse.ArgumentParser, given: list[str]) -> argparse.Namespace:
    """Options and positionals in any order (``decide order --packs p order.json``).

    argparse's intermixed parsing refuses a parser with subcommands, so the subcommand's own
    parser reads what follows its name.
    """
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if not given or given[0] not in commands.choices:
        return parser.parse_args(given)  # usage errors and --help, as argparse words them
    sub: argparse.ArgumentParser = commands.choices[given[0]]
    args = sub.parse_intermixed_args(given[1:])
    args.command = given[0]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["simulate"]:  # argparse's REMAINDER does not take a leading option such as --help
        from replay import cli as simulate

        return simulate.main(given[1:])
    if given[:1] == ["diff"]:
        from replay.cli import diff_main

        return diff_main(given[1:])
    args = _parse(build_parser(), given)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
