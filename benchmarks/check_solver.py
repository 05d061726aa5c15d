"""How long `arbiter check` spends per table: the solver's time and queries, and each pack's whole analysis.

    .venv/bin/python benchmarks/check_solver.py [policy_packs]

Prints one line per table (milliseconds in z3, queries, or why it fell back to the search)
and per pack version (all of its checks, the search and invariants included). One run: the
machine this runs on is shared, so read the numbers as orders of magnitude.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.checks import PackChecks
from engine.registry import build_pack_set


def main(root: str = "policy_packs") -> None:
    pack_set, _ = build_pack_set(Path(root), partial=True)
    if pack_set is None:
        raise SystemExit(f"no packs in {root}")
    for pack in pack_set:
        checks = PackChecks(pack)
        started = time.perf_counter()
        checks.run()
        print(f"{pack.key}: {1000 * (time.perf_counter() - started):.0f} ms in all")
        for table, (seconds, queries, fallback) in checks.solver_times.items():
            how = f"{queries} queries" if not fallback else f"searched instead ({fallback})"
            print(f"    {table}: {1000 * seconds:.0f} ms in z3, {how}")


if __name__ == "__main__":
    main(*sys.argv[1:])
