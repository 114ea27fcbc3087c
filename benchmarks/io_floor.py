"""The read + write floor of ``bench eval --out``: what plain Python needs just to get the inputs
in and the outputs out, with no checking and no matching at all.

It reads every gt ``.txt`` file (decoded, split into lines and fields, coordinates turned into
floats), parses the results JSON with the standard library, and writes output files of the
same bytes as a reference ``bench eval --out`` folder (read first, then written). Only the
standard library is imported; interpreter start-up is part of the floor, as it is of the command.

Usage:
    python benchmarks/io_floor.py --gt DIR --results FILE --like DIR --out DIR
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--like", required=True, help="a bench eval --out folder whose files are written again")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    words = 0
    for root, _dirs, files in os.walk(args.gt):
        for name in files:
            if name.endswith(".txt"):
                with open(os.path.join(root, name), "rb") as handle:
                    for line in handle.read().decode("utf-8-sig").splitlines():
                        if line:
                            parts = line.split(",", 8)
                            [float(v) for v in parts[:8]]
                            words += 1
    with open(args.results, "rb") as handle:
        doc = json.loads(handle.read())
    os.makedirs(args.out, exist_ok=True)
    for name in sorted(os.listdir(args.like)):
        with open(os.path.join(args.like, name), "rb") as src:
            data = src.read()
        with open(os.path.join(args.out, name), "wb") as dst:
            dst.write(data)
    print(f"{words} gt words, {len(doc)} result entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
