"""Whole-command speed of ``bench eval --out`` and ``bench report``, measured as a user runs them.

Every number here is a whole process (interpreter start-up, imports, reading the files,
matching, writing the outputs), timed from the outside as a subprocess, side by side in one run:

* ``bench eval --out`` of this tree (and of ``--baseline-tree``, e.g. the code before an
  optimisation: its outputs must be byte-identical);
* ``benchmarks/naive_eval.py``: a plain single-file script that reads the same files and matches
  every (gt, prediction) pair with one shapely Polygon at a time, writing equivalent numbers;
* the read + write floor (``benchmarks/io_floor.py``): plain Python that only reads and parses
  the inputs and writes files of the same bytes as the outputs;
* ``bench report`` with two providers on the dense set, against two ``bench eval --out`` runs of
  the same inputs.

The sets are the generators of ``benchmarks/eval_speed.py`` written to files: a gt folder of
``gt_<stem>.txt`` files, the first provider's results as CLOVA raw responses keyed by stem (what
``bench collect --provider naver`` keeps in ``naver.json``) and, for the report, a second
provider's results (the first one's, jittered and partly misread) in the project's schema.
Files are generated once into ``--data`` and reused.

Checks: the naive script's counts and metrics equal ``summary.json`` and ``per_image.csv`` of
``bench eval``; with ``--baseline-tree`` every output file of both ``bench eval`` and ``bench
report`` is byte-identical to the baseline's (report.html up to its "Generated" time stamp).

Peak memory: ``ru_maxrss`` of the command's process and of its largest child (``os.wait4``:
the larger of the two), and the peak of the summed PSS (proportional set size: a page shared
by a forked child and its parent counts half in each) of the process and its children,
sampled every 20 ms: what the machine really holds when the work is spread over processes.

Commands run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` is removed from their
environment and every tree is compiled first), as a user's installed copy runs.

Usage:
    python benchmarks/eval_whole.py                       # full sets, 3 runs each (~10 min)
    python benchmarks/eval_whole.py --quick               # small sets, a smoke test
    git worktree add /tmp/speed-base <commit>             # or: git archive <commit> | tar -x -C DIR
    python benchmarks/eval_whole.py --baseline-tree /tmp/speed-base
    python benchmarks/eval_whole.py --profile             # cProfile of one bench eval --out per set
    python benchmarks/eval_whole.py --two-processes       # also bench eval with BENCH_WORKERS=2
    python benchmarks/eval_whole.py --cleval              # also bench eval --protocol cleval and both

Exit codes: 0 everything agrees; 1 a disagreement (details on stderr); 2 usage error.
"""
from __future__ import annotations

import argparse
import csv
import filecmp
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
TREE = HERE.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(TREE))
    sys.path.insert(0, str(HERE))

EXIT_OK, EXIT_DISAGREE = 0, 1
FORMAT_VERSION = 1  # bump when the written sets change, so old --data folders are regenerated
SECOND_PROVIDER = "kakao"


# ---------------------------------------------------------------------------------------------
# The sets, written to files
# ---------------------------------------------------------------------------------------------

def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def clova_body(stem: str, result, size: tuple[float, float]) -> dict:
    """One image's CLOVA General V2 answer, as ``bench collect --provider naver`` keeps it."""
    head = {"version": "V2", "requestId": f"req-{stem}", "timestamp": 1714521600000}
    if not result.is_ok:
        return {**head, "images": [{"uid": f"u-{stem}", "name": stem, "inferResult": "ERROR",
                                    "message": result.error, "validationResult": {"result": "NO_REQUESTED"}}]}
    fields = []
    for item in result.items:
        f: dict = {"valueType": "ALL"}
        if item.polygon is not None:
            f["boundingPoly"] = {"vertices": [{"x": float(x), "y": float(y)} for x, y in item.polygon]}
        f["inferText"] = item.text
        if item.confidence is not None:
            f["inferConfidence"] = item.confidence
        f["type"] = "NORMAL"
        f["lineBreak"] = False
        fields.append(f)
    return {**head, "images": [{"uid": f"u-{stem}", "name": stem, "inferResult": "SUCCESS", "message": "SUCCESS",
                                "validationResult": {"result": "NO_REQUESTED"},
                                "convertedImageInfo": {"width": int(size[0]), "height": int(size[1]),
                                                       "pageIndex": 0, "longImage": False},
                                "fields": fields}]}


def second_provider(preds: dict, seed: int) -> dict:
    """Another provider's answers: the first one's boxes moved a little, 5% dropped, 10% misread."""
    import numpy as np

    from adapters.core.schema import ImageResult, Item
    from eval_speed import _recognition_error

    rng = np.random.default_rng([seed, 2])
    out = {}
    for stem, result in preds.items():
        if not result.is_ok:
            out[stem] = result
            continue
        items = []
        for item in result.items:
            if rng.random() < 0.05:
                continue
            polygon = item.polygon
            if polygon is not None:
                moved = np.round(np.asarray(polygon) + rng.normal(0, 2.0, (len(polygon), 2)), 1)
                polygon = tuple((float(x), float(y)) for x, y in moved)
            text = _recognition_error(item.text, rng) if rng.random() < 0.10 else item.text
            items.append(Item(polygon, text, item.confidence))
        out[stem] = ImageResult.ok(items)
    return out


@dataclass
class DataSet:
    name: str
    folder: Path
    images: int
    gt_words: int = 0
    predictions: int = 0

    @property
    def gt(self) -> Path:
        return self.folder / "gt"

    @property
    def results(self) -> Path:
        return self.folder / "naver" / "naver.json"

    @property
    def second(self) -> Path:
        return self.folder / SECOND_PROVIDER / f"{SECOND_PROVIDER}.json"


def write_set(spec, folder: Path, seed: int, with_second: bool) -> DataSet:
    """Generate one set and write it (once: a stamp file says what is there)."""
    stamp = folder / "set.json"
    wanted = {"format": FORMAT_VERSION, "images": spec.images, "boxes": spec.boxes, "dense": spec.dense,
              "seed": seed, "second": with_second}
    if stamp.is_file():
        done = json.loads(stamp.read_text())
        if done.get("wanted") == wanted:
            return DataSet(spec.name, folder, spec.images, done["gt_words"], done["predictions"])
    from adapters.core.schema import ResultSet
    from eval_speed import generate

    if folder.exists():
        shutil.rmtree(folder)
    gt, preds = generate(spec, seed, progress=True)
    (folder / "gt").mkdir(parents=True)
    for stem, words in gt.items():
        lines = [",".join(_number(v) for p in w.points for v in p) + "," + w.text for w in words]
        (folder / "gt" / f"gt_{stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw = {}
    for stem, result in preds.items():
        polys = [p for it in result.items if it.polygon for p in it.polygon]
        size = (max((x for x, _ in polys), default=1000.0) + 10, max((y for _, y in polys), default=1000.0) + 10)
        raw[stem] = clova_body(stem, result, size)
    (folder / "naver").mkdir()
    (folder / "naver" / "naver.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    if with_second:
        (folder / SECOND_PROVIDER).mkdir()
        ResultSet(SECOND_PROVIDER, second_provider(preds, seed)).save(folder / SECOND_PROVIDER / f"{SECOND_PROVIDER}.json")
    n_gt = sum(len(w) for w in gt.values())
    n_pred = sum(len(r.items) for r in preds.values())
    stamp.write_text(json.dumps({"wanted": wanted, "gt_words": n_gt, "predictions": n_pred}))
    return DataSet(spec.name, folder, spec.images, n_gt, n_pred)


# ---------------------------------------------------------------------------------------------
# Running and measuring one process
# ---------------------------------------------------------------------------------------------

@dataclass
class Measured:
    seconds: float
    rss_mb: float  # ru_maxrss of the process itself (its largest moment)
    tree_mb: float  # peak of the sum of PSS over the process and its descendants, sampled every 20 ms
    returncode: int
    stderr: str = ""


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as handle:
                    todo.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return found


def _pss_kb(pid: int) -> int:
    """Proportional set size: pages shared with a forked parent count half in each process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run(cmd: Sequence[str], cwd: Path | None = None, env: dict | None = None) -> Measured:
    """Run one command to the end; wall time, peak RSS (own and of the process tree)."""
    peak = [0]
    start = time.perf_counter()
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop = threading.Event()
    can_sample = os.path.isdir("/proc/self/task")

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], sum(_pss_kb(p) for p in _descendants(proc.pid)))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    if can_sample:
        sampler.start()
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stop.set()
    if can_sample:
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr:
        proc.stderr.close()
    return Measured(seconds, usage.ru_maxrss / 1024, peak[0] / 1024, proc.returncode, err)


def bench_eval_cmd(python: str, tree: Path, results: Path, gt: Path, out: Path, protocol: str = "iou") -> list[str]:
    return [python, str(tree / "bench.py"), "eval", "--api_res_json", str(results), "--txt_gt_dir", str(gt),
            "--out", str(out), "--protocol", protocol]


def bench_report_cmd(python: str, tree: Path, results: Sequence[Path], gt: Path, out: Path) -> list[str]:
    return [python, str(tree / "bench.py"), "report", *map(str, results), "--txt_gt_dir", str(gt), "--out", str(out)]


# ---------------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------------

COUNT_NAMES = ("images", "missing_predictions", "errors", "gt_care", "gt_dont_care", "pred_total", "below_min_score",
               "no_geometry", "pred_discarded", "pred_care", "tp", "correct", "edit_distance", "gt_chars",
               "jamo_distance", "gt_jamo")
PER_IMAGE_COUNTS = ("gt_care", "gt_dont_care", "pred_total", "no_geometry", "pred_discarded", "pred_care", "tp",
                    "correct", "edit_distance", "gt_chars", "jamo_distance", "gt_jamo")
METRIC_BLOCKS = {"det": "detection", "e2e": "end_to_end", "rec": "recognition"}


def naive_disagreements(bench_out: Path, naive_out: Path) -> list[str]:
    """Where the naive script's numbers differ from bench eval's (empty: identical)."""
    problems = []
    ours = json.loads((bench_out / "summary.json").read_text(encoding="utf-8"))
    theirs = json.loads((naive_out / "summary.json").read_text(encoding="utf-8"))
    for name in COUNT_NAMES:
        if name in ours and ours[name] != theirs[name]:
            problems.append(f"summary {name}: bench {ours[name]} naive {theirs[name]}")
    for key, value in theirs.items():
        prefix, _, metric = key.partition("_")
        if prefix in METRIC_BLOCKS:
            mine = ours[METRIC_BLOCKS[prefix]][metric]
            if mine != value:
                problems.append(f"summary {key}: bench {mine!r} naive {value!r}")
    with open(bench_out / "per_image.csv", encoding="utf-8-sig", newline="") as handle:
        bench_rows = {row["image"]: row for row in csv.DictReader(handle)}
    with open(naive_out / "per_image.csv", encoding="utf-8-sig", newline="") as handle:
        naive_rows = {row["image"]: row for row in csv.DictReader(handle)}
    if bench_rows.keys() != naive_rows.keys():
        problems.append("per_image.csv: different images")
    else:
        for stem, row in naive_rows.items():
            for name in PER_IMAGE_COUNTS:
                if int(row[name]) != int(bench_rows[stem][name]):
                    problems.append(f"{stem} {name}: bench {bench_rows[stem][name]} naive {row[name]}")
    return problems[:20]


_GENERATED = re.compile(rb"<th class=\"l\">Generated</th><td class=\"l\">[^<]*</td>")


def tree_differences(ours: Path, base: Path) -> list[str]:
    """Files that differ (or exist on one side only) between two output folders."""
    problems = []
    a = {p.relative_to(ours) for p in ours.rglob("*") if p.is_file()}
    b = {p.relative_to(base) for p in base.rglob("*") if p.is_file()}
    for rel in sorted(a ^ b):
        problems.append(f"{rel}: only in {'ours' if rel in a else 'baseline'}")
    for rel in sorted(a & b):
        if filecmp.cmp(ours / rel, base / rel, shallow=False):
            continue
        if rel.name == "report.html":
            x, y = (_GENERATED.sub(b"", (root / rel).read_bytes()) for root in (ours, base))
            if x == y:
                continue
        problems.append(f"{rel}: differs")
    return problems


# ---------------------------------------------------------------------------------------------
# The runs
# ---------------------------------------------------------------------------------------------

@dataclass
class Series:
    runs: list[Measured] = field(default_factory=list)

    def add(self, m: Measured, what: str) -> None:
        if m.returncode != 0:
            raise RuntimeError(f"{what} exited with {m.returncode}:\n{m.stderr[-3000:]}")
        self.runs.append(m)

    @property
    def median(self) -> float:
        return statistics.median(m.seconds for m in self.runs) if self.runs else math.nan

    @property
    def spread(self) -> str:
        return "/".join(f"{m.seconds:.2f}" for m in self.runs)

    @property
    def rss(self) -> float:
        return max((m.rss_mb for m in self.runs), default=math.nan)

    @property
    def tree_rss(self) -> float:
        return max((m.tree_mb for m in self.runs), default=math.nan)


def _load() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _fail(what: str, problems: list[str]) -> None:
    print(f"\nDISAGREEMENT ({what}):", file=sys.stderr)
    for p in problems:
        print(f"  {p}", file=sys.stderr)


def eval_set(data: DataSet, args: argparse.Namespace, work: Path) -> tuple[dict[str, Series], list[str]]:
    python, tree, base = args.python, args.tree, args.baseline_tree
    series = {k: Series() for k in ("bench", "two", "base", "naive", "floor", "cleval", "both", "base_both")}
    problems: list[str] = []
    for r in range(args.runs):
        out = work / data.name / f"run{r}"
        if base is not None:
            series["base"].add(run(bench_eval_cmd(python, base, data.results, data.gt, out / "base"), cwd=work),
                               "baseline bench eval")
        series["bench"].add(run(bench_eval_cmd(python, tree, data.results, data.gt, out / "bench"), cwd=work),
                            "bench eval")
        if args.two_processes:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            series["two"].add(run(bench_eval_cmd(python, tree, data.results, data.gt, out / "two"), cwd=work,
                                  env={**env, "BENCH_WORKERS": "2"}), "bench eval (BENCH_WORKERS=2)")
        if args.cleval:  # the CLEval protocol alone, and both protocols, as bench eval --protocol runs them
            for protocol in ("cleval", "both"):
                series[protocol].add(run(bench_eval_cmd(python, tree, data.results, data.gt, out / protocol, protocol),
                                         cwd=work), f"bench eval --protocol {protocol}")
            if base is not None:
                series["base_both"].add(run(bench_eval_cmd(python, base, data.results, data.gt, out / "base_both",
                                                           "both"), cwd=work), "baseline bench eval --protocol both")
        if not args.no_naive:
            series["naive"].add(run([python, str(HERE / "naive_eval.py"), "--gt", str(data.gt), "--results",
                                     str(data.results), "--out", str(out / "naive")], cwd=work), "naive_eval.py")
        series["floor"].add(run([python, str(HERE / "io_floor.py"), "--gt", str(data.gt), "--results",
                                 str(data.results), "--like", str(out / "bench"), "--out", str(out / "floor")],
                                cwd=work), "io_floor.py")
        if r == 0:
            if not args.no_naive:
                found = naive_disagreements(out / "bench", out / "naive")
                if found:
                    _fail(f"{data.name}: bench eval vs naive_eval.py", found)
                problems += found
            if base is not None:
                found = tree_differences(out / "bench", out / "base")
                if found:
                    _fail(f"{data.name}: bench eval outputs vs the baseline tree's", found)
                problems += found
            if args.cleval and base is not None:
                found = tree_differences(out / "both", out / "base_both")
                if found:
                    _fail(f"{data.name}: bench eval --protocol both outputs vs the baseline tree's", found)
                problems += found
            if args.two_processes:
                found = tree_differences(out / "two", out / "bench")
                if found:
                    _fail(f"{data.name}: bench eval outputs with BENCH_WORKERS=2 vs one process", found)
                problems += found
        print(f"  {data.name} run {r + 1}/{args.runs}: bench {series['bench'].runs[-1].seconds:.2f} s"
              + (f", two processes {series['two'].runs[-1].seconds:.2f} s" if args.two_processes else "")
              + (f", --protocol cleval {series['cleval'].runs[-1].seconds:.2f} s, both "
                 f"{series['both'].runs[-1].seconds:.2f} s" if args.cleval else "")
              + (f", baseline {series['base'].runs[-1].seconds:.2f} s" if base is not None else "")
              + (f", naive {series['naive'].runs[-1].seconds:.2f} s" if not args.no_naive else "")
              + f", floor {series['floor'].runs[-1].seconds:.2f} s (load {_load()})", flush=True)
        for sub in ("naive", "floor", "two", "cleval", "both", "base_both"):
            shutil.rmtree(out / sub, ignore_errors=True)
    return series, problems


def report_set(data: DataSet, args: argparse.Namespace, work: Path) -> tuple[dict[str, Series], list[str]]:
    python, tree, base = args.python, args.tree, args.baseline_tree
    series = {k: Series() for k in ("report", "base", "eval1", "eval2")}
    problems: list[str] = []
    inputs = [data.results, data.second]
    for r in range(args.runs):
        out = work / f"report_{data.name}" / f"run{r}"
        if base is not None:
            series["base"].add(run(bench_report_cmd(python, base, inputs, data.gt, out / "base"), cwd=work),
                               "baseline bench report")
        series["report"].add(run(bench_report_cmd(python, tree, inputs, data.gt, out / "bench"), cwd=work),
                             "bench report")
        for key, results in (("eval1", data.results), ("eval2", data.second)):
            series[key].add(run(bench_eval_cmd(python, tree, results, data.gt, out / key), cwd=work), "bench eval")
        if r == 0 and base is not None:
            found = tree_differences(out / "bench", out / "base")
            if found:
                _fail(f"{data.name}: bench report outputs vs the baseline tree's", found)
            problems += found
        print(f"  report {data.name} run {r + 1}/{args.runs}: report {series['report'].runs[-1].seconds:.2f} s, "
              f"eval x2 {series['eval1'].runs[-1].seconds + series['eval2'].runs[-1].seconds:.2f} s"
              + (f", baseline report {series['base'].runs[-1].seconds:.2f} s" if base is not None else "")
              + f" (load {_load()})", flush=True)
    return series, problems


def profile_eval(data: DataSet, args: argparse.Namespace, work: Path) -> None:
    """cProfile of the whole ``bench eval --out`` command (one run), top functions by cumulative and own time."""
    prof = work / f"{data.name}.prof"
    run([args.python, "-m", "cProfile", "-o", str(prof), str(args.tree / "bench.py"), "eval", "--api_res_json",
         str(data.results), "--txt_gt_dir", str(data.gt), "--out", str(work / f"profile_{data.name}")], cwd=args.tree)
    import pstats

    print(f"\n--- cProfile of bench eval --out on the {data.name} set (whole process) ---")
    stats = pstats.Stats(str(prof))
    stats.sort_stats("tottime").print_stats(25)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    fmt = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "-"


def eval_table(results: list[tuple[DataSet, dict[str, Series]]], with_base: bool) -> str:
    header = ["set", "images", "gt words", "predictions", "bench eval --out s"]
    if with_base:
        header += ["baseline s"]
    header += ["naive s", "floor s", "naive / bench", "bench / floor", "peak RSS MB / tree PSS MB"]
    if with_base:
        header += ["baseline RSS MB"]
    rows = []
    for data, s in results:
        row = [data.name, f"{data.images:,}", f"{data.gt_words:,}", f"{data.predictions:,}",
               f"{s['bench'].median:.2f} ({s['bench'].spread})"]
        if with_base:
            row += [f"{s['base'].median:.2f} ({s['base'].spread})"]
        row += [f"{s['naive'].median:.2f}" if s["naive"].runs else "-", f"{s['floor'].median:.2f}",
                _ratio(s["naive"].median, s["bench"].median), _ratio(s["bench"].median, s["floor"].median),
                f"{s['bench'].rss:.0f} / {s['bench'].tree_rss:.0f}"]
        if with_base:
            row += [f"{s['base'].rss:.0f} / {s['base'].tree_rss:.0f}"]
        rows.append(row)
    table = _table(header, rows)
    if any(s["two"].runs for _, s in results):
        two = [[data.name, f"{s['two'].median:.2f} ({s['two'].spread})", f"{s['bench'].median:.2f}",
                _ratio(s["naive"].median, s["two"].median), _ratio(s["two"].median, s["floor"].median),
                f"{s['two'].rss:.0f} / {s['two'].tree_rss:.0f}"] for data, s in results]
        table += "\n\nWith BENCH_WORKERS=2 (reading, then scoring, split over two processes):\n" + _table(
            ["set", "bench eval --out s", "one process s", "naive / bench", "bench / floor",
             "peak RSS MB / tree PSS MB"], two)
    if any(s["cleval"].runs for _, s in results):
        protocols = [[data.name, f"{s['bench'].median:.2f}", f"{s['cleval'].median:.2f} ({s['cleval'].spread})",
                      f"{s['both'].median:.2f} ({s['both'].spread})", _ratio(s["cleval"].median, s["bench"].median),
                      _ratio(s["both"].median, s["bench"].median)]
                     + ([f"{s['base_both'].median:.2f}"] if s["base_both"].runs else []) for data, s in results]
        table += "\n\nbench eval --out by protocol (iou is the default above; page text comes with each):\n" + _table(
            ["set", "iou s", "cleval s", "both s", "cleval / iou", "both / iou"]
            + (["baseline both s"] if any(s["base_both"].runs for _, s in results) else []), protocols)
    return table


def report_table(data: DataSet, s: dict[str, Series], with_base: bool) -> str:
    two = Series([Measured(a.seconds + b.seconds, max(a.rss_mb, b.rss_mb), max(a.tree_mb, b.tree_mb), 0)
                  for a, b in zip(s["eval1"].runs, s["eval2"].runs)])
    header = ["set", "bench report (2 providers) s", "2 x bench eval --out s", "report / 2 evals",
              "peak RSS MB / tree PSS MB"]
    row = [data.name, f"{s['report'].median:.2f} ({s['report'].spread})", f"{two.median:.2f} ({two.spread})",
           _ratio(s["report"].median, two.median), f"{s['report'].rss:.0f} / {s['report'].tree_rss:.0f}"]
    if with_base:
        header += ["baseline report s", "baseline RSS MB"]
        row += [f"{s['base'].median:.2f} ({s['base'].spread})", f"{s['base'].rss:.0f} / {s['base'].tree_rss:.0f}"]
    return _table(header, [row])


def environment(python: str) -> str:
    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cpus
    version = subprocess.run([python, "-c", "import sys, numpy, shapely; print(sys.version.split()[0], numpy.__version__, "
                              "shapely.__version__, shapely.geos_version_string)"], capture_output=True, text=True)
    py, np_v, shp, geos = (version.stdout.split() + ["?"] * 4)[:4]
    return f"CPUs {cpus} ({usable} usable), Python {py}, numpy {np_v}, shapely {shp} (GEOS {geos})"


# ---------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time whole bench eval --out / bench report processes against a "
                                                 "naive per-pair script and the read + write floor.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Exit codes: 0 agreement, 1 disagreement, 2 usage error.")
    parser.add_argument("--quick", action="store_true", help="small sets (smoke test)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (the median is shown; default 3)")
    parser.add_argument("--seed", type=int, default=None, help="generator seed (default: eval_speed.py's)")
    parser.add_argument("--data", type=Path, default=None,
                        help="where the sets are written and reused (default: a folder in the temp dir)")
    parser.add_argument("--work", type=Path, default=None, help="where outputs go (default: a fresh temp folder)")
    parser.add_argument("--tree", type=Path, default=TREE, help="the tree whose bench.py is timed (default: this one)")
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="a tree of the original code: timed too, and every output must be byte-identical")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to run everything with")
    parser.add_argument("--sets", default="sparse,dense", help="which sets (comma-separated; default sparse,dense)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive script (it takes ~30 s on dense)")
    parser.add_argument("--no-report", action="store_true", help="skip bench report")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one bench eval per set")
    parser.add_argument("--cleval", action="store_true",
                        help="also time bench eval --protocol cleval and --protocol both (against iou)")
    parser.add_argument("--two-processes", action="store_true",
                        help="also time bench eval with BENCH_WORKERS=2 (its outputs must equal one process's)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.tree = args.tree.resolve()
    if args.baseline_tree is not None:
        args.baseline_tree = args.baseline_tree.resolve()
        if not (args.baseline_tree / "bench.py").is_file():
            parser.error(f"{args.baseline_tree}: no bench.py there")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from eval_speed import SEED, set_specs

    seed = SEED if args.seed is None else args.seed
    dense_spec, sparse_spec = set_specs(args.quick)
    specs = {"sparse": sparse_spec, "dense": dense_spec}
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    data_root = args.data or Path(tempfile.gettempdir()) / f"kob_eval_whole_{'quick' if args.quick else 'full'}"
    sets = {name: write_set(specs[name], data_root / name, seed, with_second=name == "dense") for name in wanted}
    work = args.work or Path(tempfile.mkdtemp(prefix="kob_eval_whole_"))
    work.mkdir(parents=True, exist_ok=True)
    for tree in filter(None, (args.tree, args.baseline_tree, HERE)):  # as installed: bytecode already there
        run([args.python, "-m", "compileall", "-q", "-x", r"(^|/)(\.|tests/data|runs)", str(tree)])
    print(f"sets in {data_root}, outputs in {work}; load average at start {_load()}", flush=True)

    problems: list[str] = []
    results = []
    for name, data in sets.items():
        series, found = eval_set(data, args, work)
        results.append((data, series))
        problems += found
        if args.profile:
            profile_eval(data, args, work)
    report = None
    if not args.no_report and "dense" in sets:
        report = report_set(sets["dense"], args, work)
        problems += report[1]

    print(f"\nWhole-process times, median of {args.runs} runs (each run's times in brackets), "
          f"{'quick' if args.quick else 'full'} sets, seed {seed}")
    print(eval_table(results, args.baseline_tree is not None))
    if report is not None:
        print()
        print(report_table(sets["dense"], report[0], args.baseline_tree is not None))
    print(f"\n{environment(args.python)}; load average at the end {_load()} (1 / 5 / 15 min)")
    print("naive: benchmarks/naive_eval.py (one shapely Polygon pair at a time); floor: benchmarks/io_floor.py "
          "(read + parse inputs, write the same output bytes, stdlib only).")
    if args.baseline_tree is not None:
        print(f"baseline: {args.baseline_tree}; outputs compared byte for byte: "
              f"{'identical' if not problems else 'DIFFERENT (see stderr)'}")
    if not args.no_naive:
        print(f"naive vs bench numbers (summary.json counts and metrics, per-image counts): "
              f"{'identical' if not problems else 'see stderr'}")
    return EXIT_DISAGREE if problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
