"""Engine-only timing: parse + validate the pack, consolidate, serialise; 10/25/50 entities.

    .venv/bin/python -m bench.consolidation.engine_bench [--accounts 2000] [--entities 10,25,50]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sheshi.settings.test")
    django.setup()
    from bench.consolidation.synthetic import group_pack
    from consolidation.engine import consolidate
    from consolidation.pack import pack_parse

    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--entities", default="10,25,50")
    args = ap.parse_args()
    print(f"{'entities':>8} {'lines':>8} {'parse s':>8} {'engine s':>9} {'to_dict s':>9} {'total s':>8} ic_diffs")
    for n in (int(x) for x in args.entities.split(",")):
        text = json.dumps(group_pack(n, args.accounts))
        t0 = time.perf_counter()
        pack = pack_parse(text)
        t1 = time.perf_counter()
        result = consolidate(pack.inputs)
        t2 = time.perf_counter()
        out = result.to_dict()
        t3 = time.perf_counter()
        assert sum(result.tb.values()) == 0
        print(f"{n:>8} {len(pack.inputs.lines):>8} {t1 - t0:>8.2f} {t2 - t1:>9.2f} {t3 - t2:>9.2f} {t3 - t0:>8.2f}"
              f" {len(out['ic_differences'])}")


if __name__ == "__main__":
    main()
