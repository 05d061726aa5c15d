"""What-if replay of historic orders against two sets of pack versions: the entry script of ``replay``.

    python simulate.py import {online-retail,northwind} SRC --out ORDERS.{jsonl,jsonl.gz,parquet}
    python simulate.py run --orders ORDERS.jsonl --baseline SPEC --candidate SPEC [--out DIR]
    python simulate.py order ORDER.json --baseline SPEC --candidate SPEC

See ``python simulate.py --help`` and docs/simulation.md.
"""

from replay.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
