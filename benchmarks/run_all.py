"""Run every stage's benchmark and print one table of ratios.

Each `benchmarks/bench_*.py` compares kmb with the obvious alternative in the same run and prints
lines of the form `RESULT <name>: <value> <unit> (<comparison>) ratio=<x>`. This script runs them in
turn (with --quick unless --full is given) and gathers those lines. Ratios, not wall times, are what
to compare across machines.

    python benchmarks/run_all.py            # quick sizes, a few minutes on 2 cores
    python benchmarks/run_all.py --full     # the sizes quoted in docs/performance.md
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT = re.compile(r"^RESULT (?P<name>[^:]+):\s*(?P<rest>.*?)(?:\s+ratio=(?P<ratio>[0-9.]+x?))?\s*$")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run the full sizes instead of --quick")
    parser.add_argument("--only", default="", help="run only benchmarks whose file name contains this")
    args = parser.parse_args()

    rows, failed = [], []
    for script in sorted(HERE.glob("bench_*.py")):
        if args.only and args.only not in script.name:
            continue
        cmd = [sys.executable, str(script)] + ([] if args.full else ["--quick"])
        print(f"== {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(cmd))}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        found = 0
        for line in proc.stdout.splitlines():
            match = RESULT.match(line.strip())
            if match:
                found += 1
                rows.append((script.stem, match["name"], match["rest"], match["ratio"] or "-"))
                print("  " + line.strip())
        if proc.returncode != 0 or not found:
            failed.append(script.name)
            print(f"  FAILED (exit {proc.returncode}, {found} results, {seconds:.0f} s)")
            print("  " + "\n  ".join(proc.stderr.strip().splitlines()[-5:]))
        else:
            print(f"  ({seconds:.0f} s)")

    print("\n| benchmark | measure | result | ratio |\n|---|---|---|---|")
    for bench, name, rest, ratio in rows:
        print(f"| {bench} | {name} | {rest} | {ratio} |")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
