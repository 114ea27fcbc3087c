"""Speed and equality of ``eval.cleval`` against the reference ``cleval`` 0.1.1 package.

The package is not a project dependency (it needs numba, torch, Polygon3 and OpenCV), so it
runs in a subprocess from a separate Python that has it installed::

    python3 -m venv /tmp/cleval-venv && /tmp/cleval-venv/bin/pip install cleval==0.1.1 opencv-python-headless

Usage:
    .venv/bin/python benchmarks/cleval_speed.py --cleval-python /tmp/cleval-venv/bin/python
    .venv/bin/python benchmarks/cleval_speed.py                 # our side only (no package)
    .venv/bin/python benchmarks/cleval_speed.py --cleval-python ... --random 300
    .venv/bin/python benchmarks/cleval_speed.py --cleval-python ... --write-fixture tests/data/cleval/cases.json

The main run reads ``kr_docs`` (the package's own test data: a zip of ground-truth files and a
zip of results, ``x1,y1,...,x4,y4,text`` lines), evaluates every page end to end with both
implementations in one process each, checks that every summed count is equal, and prints the
time of each and their ratio. Both sides are timed from the files' text to the final counts
(line parsing included, zip reading and imports not), in CPU time (steady on a shared machine)
and wall-clock time. The package's first pass includes numba compiling its functions, so its
second (warm) pass is reported too and the ratio is given against both.

``--random N`` generates N seeded cases (document pages, rotated and vertical words, splits,
merges, overlaps, don't-care regions, bow-ties, empty images, Korean and Latin texts, a few
non-default options) and compares the counts image by image. ``--write-fixture`` stores such
cases together with the package's counts, which is how ``tests/data/cleval/cases.json`` was made.

Exit codes: 0 equal (or nothing to compare); 1 a count differs; 2 usage error.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.cleval import ClevalCounts, ClevalOptions, evaluate_image, metrics, parse_quad_lines  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "kr_docs"
GT_ZIP, RES_ZIP = "gt_eval_doc_v1_kr.zip", "res_eval_doc_v1_kr.zip"
EXIT_OK, EXIT_DIFFER, EXIT_USAGE = 0, 1, 2

# --------------------------------------------------------------------------------------------
# The package's side, run by its own interpreter. It only calls the package's public pieces
# (its file reader, its box type and its evaluation function) and prints JSON.

PACKAGE_RUNNER = r'''
import json, sys, time
from argparse import Namespace
started = time.perf_counter()
from cleval.box_types import QUAD
from cleval.data import GlobalResult, accumulate_result, calculate_global_rph
from cleval.eval_functions import evaluation
from cleval.main import eval_single, get_file_paths
imported = time.perf_counter() - started

def make_args(options):
    return Namespace(
        E2E=True, ORIENTATION=False, DUMP_SAMPLE_RESULT=False, CRLF=False, TRANSCRIPTION=True,
        CONFIDENCES=False, BOX_TYPE="QUAD",
        CASE_SENSITIVE=options.get("case_sensitive", True),
        AREA_PRECISION_CONSTRAINT=options.get("area_precision_constraint", 0.3),
        RECALL_GRANULARITY_PENALTY_WEIGHT=options.get("recall_penalty", 1.0),
        PRECISION_GRANULARITY_PENALTY_WEIGHT=options.get("precision_penalty", 1.0),
        VERTICAL_ASPECT_RATIO_THRESH=options.get("vertical_aspect_ratio_threshold", 0.5))

def flat(stats):
    out = {}
    for block in ("det", "e2e"):
        core = getattr(stats, block)
        for name in ("num_char_gt", "num_char_det", "num_char_tp_recall", "num_char_tp_precision",
                     "num_char_fp", "gran_score_recall", "gran_score_precision"):
            out[block + "_" + name] = getattr(core, name)
        for name in ("recall", "precision", "hmean"):
            out[block + "_" + name] = float(getattr(core, name))
    for name in ("num_merged", "num_splitted", "num_char_overlapped"):
        out[name] = getattr(stats, name)
    return out

request = json.load(sys.stdin)
if request["mode"] == "zip":
    args = make_args({})
    passes = []
    for _ in range(request["passes"]):
        gt_files, det_files, ids = get_file_paths(request["gt_zip"], request["res_zip"])
        wall, cpu = time.perf_counter(), time.process_time()
        total = GlobalResult()
        for gt_file, det_file, file_id in zip(gt_files, det_files, ids):
            accumulate_result(total, eval_single(args, gt_file, det_file, file_id), True)
        calculate_global_rph(total, True)
        passes.append({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
    print(json.dumps({"import_seconds": imported, "passes": passes, "counts": flat(total.stats)}))
else:
    import os

    def evaluate_case(case):
        args = make_args(case.get("options", {}))
        gts = [QUAD([float(v) for v in b["points"]], transcription=b["text"], is_dc=b["dc"]) for b in case["gt"]]
        dets = [QUAD([float(v) for v in b["points"]], transcription=b["text"]) for b in case["det"]]
        return flat(evaluation(args, gts, dets).stats)

    def guarded(cases):
        # Polygon3's clipper can crash the interpreter (a segfault on some bow-ties), so the
        # cases run in a forked child writing one line each; the case it died on gets None.
        if not cases:
            return []
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            with os.fdopen(write_end, "w") as out:
                for case in cases:
                    out.write(json.dumps(evaluate_case(case)) + "\n")
                    out.flush()
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as answers:
            results = [json.loads(line) for line in answers.read().splitlines()]
        os.waitpid(pid, 0)
        if len(results) < len(cases):
            results.append(None)
            results += guarded(cases[len(results):])
        return results

    evaluate_case(request["cases"][0]) if request["cases"] else None  # compile numba before forking
    print(json.dumps({"results": guarded(request["cases"])}))
'''


def run_package(python: str, request: dict[str, Any]) -> dict[str, Any]:
    """Run ``PACKAGE_RUNNER`` under ``python`` with ``request`` on stdin; its JSON answer."""
    done = subprocess.run([python, "-c", PACKAGE_RUNNER], input=json.dumps(request), capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the cleval package run failed (exit code {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Our side


def read_zip_texts(path: Path) -> dict[str, str]:
    """The package's way of keying a zip: names without ``gt_``/``res_`` and ``.txt``; UTF-8."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            key = name.replace("gt_", "").replace("res_", "").replace(".txt", "")
            text = archive.read(name).decode("utf-8", "replace")
            out[key] = text[1:] if text.startswith("\ufeff") else text
    return out


def evaluate_texts(pairs: list[tuple[str, str]], options: ClevalOptions = ClevalOptions()) -> ClevalCounts:
    """Parse and evaluate (gt file text, result file text) pairs; the summed counts."""
    total = ClevalCounts()
    for gt_text, res_text in pairs:
        (gt_quads, gt_words), (res_quads, res_words) = parse_quad_lines(gt_text), parse_quad_lines(res_text)
        total += evaluate_image(gt_quads, gt_words, [t == "###" for t in gt_words], res_quads, res_words, options)
    return total


def flat_counts(counts: ClevalCounts) -> dict[str, Any]:
    """Our counts keyed like the runner's output."""
    out = dict(counts.as_dict())
    m = metrics(counts)
    for block, prefix in (("detection", "det_"), ("end_to_end", "e2e_")):
        for name in ("recall", "precision", "hmean"):
            out[prefix + name] = m[block][name]
    return out


def compare(ours: dict[str, Any], theirs: dict[str, Any], with_scores: bool = False) -> list[str]:
    """Names whose values differ (counts exactly; scores exactly too when asked)."""
    names = [f.name for f in fields(ClevalCounts)]
    if with_scores:
        names += [p + s for p in ("det_", "e2e_") for s in ("recall", "precision", "hmean")]
    return [f"{n}: ours {ours[n]!r} package {theirs[n]!r}" for n in names if ours[n] != theirs[n]]


# --------------------------------------------------------------------------------------------
# Generated cases

KOREAN = ["출입구", "비상구", "편의점", "영업중", "할인", "도서관", "교환", "환불", "결제", "가능", "한달이내",
          "홈플러스", "영수증", "합계", "부가세", "카드", "현금", "서울특별시", "강남구", "테헤란로", "주식회사",
          "대표", "전화", "번호", "가", "나", "값", "읽기", "않는", "흙", "닭", "맑음"]
LATIN = ["Home", "plus", "EXIT", "Total", "VAT", "card", "OCR", "Seoul", "tel", "No.", "A", "ab", "Hello",
         "world", "2024-05-01", "12,300", "(주)", "#1", "x", "Zz"]


def _quad(cx: float, cy: float, w: float, h: float, angle: float, as_int: bool) -> list[float]:
    import math
    cos, sin = math.cos(angle), math.sin(angle)
    points = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        x, y = cx + dx * cos - dy * sin, cy + dx * sin + dy * cos
        points += [float(round(x)), float(round(y))] if as_int else [round(x, 2), round(y, 2)]
    return points


def _jitter(points: list[float], rng: random.Random, amount: float, as_int: bool) -> list[float]:
    out = [p + rng.uniform(-amount, amount) for p in points]
    return [float(round(p)) for p in out] if as_int else [round(p, 2) for p in out]


def _misread(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6 or not text:
        return text
    if roll < 0.7:
        return text.swapcase()
    chars = list(text)
    k = rng.randrange(len(chars))
    if roll < 0.8:
        del chars[k]
    elif roll < 0.9:
        chars[k] = rng.choice("가나다라마바사abcXYZ0")
    else:
        chars.insert(k, rng.choice("이의.a1"))
    return "".join(chars)


def make_case(rng: random.Random) -> dict[str, Any]:
    """One random image: words laid out in lines (some rotated or vertical), and predictions
    made from them with the usual mistakes."""
    as_int = rng.random() < 0.7
    kind = rng.choice(["doc", "doc", "scene", "vertical", "empty", "odd"])
    gts: list[dict[str, Any]] = []
    dets: list[dict[str, Any]] = []
    if kind == "empty":
        roll = rng.random()
        if roll < 0.3:
            return {"gt": [], "det": []}
    n_lines = rng.randint(1, 5) if kind != "scene" else rng.randint(1, 3)
    line_words: list[list[int]] = []
    for line in range(n_lines):
        x = rng.uniform(10, 60)
        y = 40 + line * rng.uniform(45, 70)
        angle = 0.0 if kind == "doc" or rng.random() < 0.4 else rng.uniform(-0.6, 0.6)
        ids = []
        for _ in range(rng.randint(1, 5)):
            text = rng.choice(KOREAN if rng.random() < 0.65 else LATIN)
            char_w, h = rng.uniform(18, 32), rng.uniform(24, 40)
            if kind == "vertical" and rng.random() < 0.6:
                w, hh = h, char_w * len(text)
            else:
                w, hh = char_w * len(text), h
            dc = rng.random() < 0.12
            gts.append({"points": _quad(x + w / 2, y + hh / 2, w, hh, angle, as_int), "text": "###" if dc else text,
                        "dc": dc, "_w": w, "_h": hh, "_x": x, "_y": y, "_a": angle, "_t": text})
            ids.append(len(gts) - 1)
            x += w + rng.uniform(8, 30)
        line_words.append(ids)
    if kind == "empty":  # ground truth but no predictions, or only false alarms
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, 4)):
                dets.append({"points": _quad(rng.uniform(0, 400), rng.uniform(0, 300), rng.uniform(5, 120),
                                             rng.uniform(5, 80), rng.uniform(-1, 1), as_int),
                             "text": rng.choice(KOREAN + LATIN)})
        return _finish(gts, dets)
    for ids in line_words:
        k = 0
        while k < len(ids):
            g = gts[ids[k]]
            roll = rng.random()
            if roll < 0.08:  # missed
                k += 1
                continue
            if roll < 0.2 and len(g["_t"]) >= 2:  # split into pieces
                pieces = rng.randint(2, min(3, len(g["_t"])))
                cuts = sorted(rng.sample(range(1, len(g["_t"])), pieces - 1))
                bounds = [0, *cuts, len(g["_t"])]
                for a, b in zip(bounds, bounds[1:]):
                    frac0, frac1 = a / len(g["_t"]), b / len(g["_t"])
                    w = g["_w"] * (frac1 - frac0)
                    cx = g["_x"] + g["_w"] * (frac0 + frac1) / 2
                    dets.append({"points": _jitter(_quad(cx, g["_y"] + g["_h"] / 2, w, g["_h"], g["_a"], as_int),
                                                   rng, 2, as_int), "text": _misread(g["_t"][a:b], rng)})
                k += 1
                continue
            if roll < 0.35 and k + 1 < len(ids):  # merged with the next word(s)
                span = ids[k:k + rng.randint(2, 3)]
                first, last = gts[span[0]], gts[span[-1]]
                x0, x1 = first["_x"], last["_x"] + last["_w"]
                h = max(gts[i]["_h"] for i in span)
                sep = rng.choice([" ", ""])
                dets.append({"points": _jitter(_quad((x0 + x1) / 2, first["_y"] + h / 2, x1 - x0, h, first["_a"], as_int),
                                               rng, 3, as_int),
                             "text": _misread(sep.join(gts[i]["_t"] for i in span), rng)})
                k += len(span)
                continue
            shrink = rng.uniform(0.3, 1.2) if rng.random() < 0.15 else 1.0
            dets.append({"points": _jitter(_quad(g["_x"] + g["_w"] / 2, g["_y"] + g["_h"] / 2, g["_w"] * shrink,
                                                 g["_h"], g["_a"], as_int), rng, 3, as_int),
                         "text": _misread(g["_t"], rng)})
            if rng.random() < 0.05:  # a duplicate
                dets.append(dict(dets[-1]))
            k += 1
    for _ in range(rng.randint(0, 2)):  # false alarms
        dets.append({"points": _quad(rng.uniform(0, 400), rng.uniform(0, 400), rng.uniform(5, 100),
                                     rng.uniform(5, 60), rng.uniform(-1.5, 1.5), as_int),
                     "text": rng.choice(KOREAN + LATIN + ["###", ""])})
    if kind == "odd":  # bow-ties, degenerate boxes, big overlapping boxes
        for det in rng.sample(dets, min(len(dets), 2)):
            p = det["points"]
            det["points"] = rng.choice([p[:2] + p[4:6] + p[2:4] + p[6:], p[:2] + p[:2] + p[4:], p[:2] * 4])
        if gts and rng.random() < 0.5:
            g = rng.choice(gts)
            p = g["points"]
            g["points"] = p[:2] + p[4:6] + p[2:4] + p[6:]
        if rng.random() < 0.5:
            dets.append({"points": _quad(200, 150, 500, 300, 0.0, as_int), "text": "전체"})
    rng.shuffle(dets)
    return _finish(gts, dets)


def _finish(gts: list[dict[str, Any]], dets: list[dict[str, Any]]) -> dict[str, Any]:
    """The case as stored: whole coordinates written as integers (the same numbers, shorter)."""
    def compact(points: list[float]) -> list[float | int]:
        return [int(v) if float(v).is_integer() else v for v in points]

    return {"gt": [{"points": compact(g["points"]), "text": g["text"], "dc": g["dc"]} for g in gts],
            "det": [{"points": compact(d["points"]), "text": d["text"]} for d in dets]}


def make_cases(n: int, seed: int = 20240501) -> list[dict[str, Any]]:
    """``n`` random cases; every fifth one carries non-default options."""
    rng = random.Random(seed)
    variants = [{"case_sensitive": False}, {"area_precision_constraint": 0.5},
                {"recall_penalty": 0.5, "precision_penalty": 2.0}, {"vertical_aspect_ratio_threshold": 0.8},
                {"recall_penalty": 0.3, "precision_penalty": 0.7, "case_sensitive": False},
                {"area_precision_constraint": 0.0}]
    cases = []
    for k in range(n):
        case = make_case(rng)
        if k % 5 == 4:
            case["options"] = variants[(k // 5) % len(variants)]
        cases.append(case)
    return cases


def _box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def _gt(points: list[float], text: str, dc: bool = False) -> dict[str, Any]:
    return {"points": points, "text": "###" if dc else text, "dc": dc}


def _det(points: list[float], text: str) -> dict[str, Any]:
    return {"points": points, "text": text}


def edge_cases() -> list[dict[str, Any]]:
    """Hand-made cases for the rules random data rarely hits exactly."""
    cases: list[dict[str, Any]] = []
    # Character centres exactly on a detection's edge or corner: gt "ab" has centres (15, 15), (25, 15).
    xs = [5, 15, 20, 25, 35]
    for x0 in xs:
        for x1 in xs:
            for y0, y1 in ((5, 15), (15, 25), (5, 25)):
                if x0 < x1:
                    cases.append({"gt": [_gt(_box(10, 10, 30, 20), "ab")], "det": [_det(_box(x0, y0, x1, y1), "ab")]})
    # Counter-clockwise detection, and one given as a bow-tie.
    cases.append({"gt": [_gt(_box(10, 10, 30, 20), "ab")], "det": [_det([15, 5, 15, 25, 25, 25, 25, 5], "ab")]})
    cases.append({"gt": [_gt(_box(10, 10, 30, 20), "ab")], "det": [_det([10, 10, 30, 20, 30, 10, 10, 20], "ab")]})
    # Float and negative coordinates (the package truncates them toward zero for its polygons).
    cases.append({"gt": [_gt([-10.7, -5.2, 20.4, -5.9, 20.6, 9.5, -10.2, 9.9], "한글"), _gt(_box(25.5, -5.5, 60.5, 9.5), "abc")],
                  "det": [_det([-10.2, -5.0, 20.1, -5.2, 20.2, 9.1, -10.9, 9.2], "한글"), _det(_box(25.9, -5.1, 60.9, 9.9), "abd")]})
    # Don't care: a word inside a ### region, a detection inside the region, one straddling both.
    cases.append({"gt": [_gt(_box(0, 0, 200, 50), "", dc=True), _gt(_box(20, 10, 80, 40), "출입구")],
                  "det": [_det(_box(22, 8, 82, 42), "출입구"), _det(_box(120, 10, 190, 40), "비상구"),
                          _det(_box(60, 5, 160, 45), "구비상")]})
    cases.append({"gt": [_gt(_box(0, 0, 100, 20), "", dc=True), _gt(_box(0, 30, 100, 50), "", dc=True),
                         _gt(_box(0, 60, 100, 80), "word")],
                  "det": [_det(_box(0, 10, 100, 40), "x"), _det(_box(0, 15, 100, 65), "y"), _det(_box(0, 60, 100, 80), "word")]})
    # A detection excused by a ### region that still passes with a word blocks its one-to-one match.
    cases.append({"gt": [_gt(_box(0, 0, 40, 10), "abcd"), _gt(_box(38, 0, 60, 10), "", dc=True)],
                  "det": [_det(_box(0, 0, 40, 10), "abcd"), _det(_box(30, 0, 60, 10), "x")]})
    # Merges at the area-precision threshold: 0.15 + 0.15 and 0.1 + 0.2 of the detection.
    cases.append({"gt": [_gt(_box(0, 0, 15, 10), "a"), _gt(_box(85, 0, 100, 10), "b")],
                  "det": [_det(_box(0, 0, 100, 10), "ab")]})
    cases.append({"gt": [_gt(_box(0, 0, 10, 10), "a"), _gt(_box(80, 0, 100, 10), "b")],
                  "det": [_det(_box(0, 0, 100, 10), "ab")]})
    cases.append({"gt": [_gt(_box(0, 0, 10, 10), "a"), _gt(_box(85, 0, 100, 10), "b")],
                  "det": [_det(_box(0, 0, 100, 10), "ab")]})
    # A split where three pieces all hold the first character: the package reads only two of them.
    cases.append({"gt": [_gt(_box(0, 0, 30, 10), "abc")],
                  "det": [_det(_box(0, 0, 10, 10), "a"), _det(_box(0, 0, 11, 10), "ab"), _det(_box(0, 0, 12, 10), "abc")]})
    # Case folding that changes length (upper-casing "ß" gives "SS"); empty texts; a "###" reading.
    cases.append({"gt": [_gt(_box(0, 0, 60, 10), "Straße"), _gt(_box(0, 20, 60, 30), "")],
                  "det": [_det(_box(0, 0, 60, 10), "STRASSE"), _det(_box(0, 20, 60, 30), ""), _det(_box(0, 40, 60, 50), "###")],
                  "options": {"case_sensitive": False}})
    cases.append({"gt": [_gt(_box(0, 0, 60, 10), "Straße")], "det": [_det(_box(0, 0, 60, 10), "STRASSE")]})
    # Vertical words (tall boxes) read top to bottom, and a degenerate (zero-area) detection.
    cases.append({"gt": [_gt(_box(0, 0, 20, 90), "세로쓰기"), _gt(_box(30, 0, 50, 60), "abc")],
                  "det": [_det(_box(0, 0, 20, 45), "세로"), _det(_box(0, 45, 20, 90), "쓰기"), _det(_box(30, 0, 50, 60), "abc"),
                          _det([70, 70, 70, 70, 70, 70, 70, 70], "점")]})
    # Empty images.
    cases.append({"gt": [], "det": []})
    cases.append({"gt": [], "det": [_det(_box(0, 0, 10, 40), "tall"), _det(_box(0, 0, 40, 10), "wide")]})
    cases.append({"gt": [_gt(_box(0, 0, 40, 10), "only"), _gt(_box(0, 20, 40, 30), "", dc=True)], "det": []})
    return cases


def case_options(case: dict[str, Any]) -> ClevalOptions:
    o = case.get("options", {})
    return ClevalOptions(case_sensitive=o.get("case_sensitive", True),
                         area_precision_constraint=o.get("area_precision_constraint", 0.3),
                         recall_granularity_penalty_weight=o.get("recall_penalty"),
                         precision_granularity_penalty_weight=o.get("precision_penalty"),
                         vertical_aspect_ratio_threshold=o.get("vertical_aspect_ratio_threshold", 0.5))


def evaluate_case(case: dict[str, Any]) -> ClevalCounts:
    """Our counts for one generated case."""
    return evaluate_image([b["points"] for b in case["gt"]], [b["text"] for b in case["gt"]],
                          [b["dc"] for b in case["gt"]], [b["points"] for b in case["det"]],
                          [b["text"] for b in case["det"]], case_options(case))


# --------------------------------------------------------------------------------------------


def time_ours(pairs: list[tuple[str, str]], passes: int) -> tuple[ClevalCounts, list[dict[str, float]]]:
    """Counts and, per pass, wall-clock and CPU seconds (CPU time is steadier on a shared machine)."""
    timings, counts = [], ClevalCounts()
    for _ in range(passes):
        wall, cpu = time.perf_counter(), time.process_time()
        counts = evaluate_texts(pairs)
        timings.append({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
    return counts, timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the two kr_docs zips")
    parser.add_argument("--cleval-python", help="a Python with cleval==0.1.1 installed")
    parser.add_argument("--passes", type=int, default=5, help="timed passes of our side (best is reported)")
    parser.add_argument("--random", type=int, default=0, metavar="N",
                        help="also compare the hand-made edge cases and N generated ones")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--write-fixture", type=Path, help="store --random cases with the package's counts")
    args = parser.parse_args(argv)
    if args.write_fixture and not (args.cleval_python and args.random):
        parser.error("--write-fixture needs --cleval-python and --random N")
        return EXIT_USAGE
    status = EXIT_OK

    gt_zip, res_zip = args.data / GT_ZIP, args.data / RES_ZIP
    if gt_zip.is_file() and res_zip.is_file():
        gt_texts, res_texts = read_zip_texts(gt_zip), read_zip_texts(res_zip)
        pairs = [(text, res_texts.get(key, "")) for key, text in gt_texts.items()]
        ours, timings = time_ours(pairs, args.passes)
        best = {kind: min(t[kind] for t in timings) for kind in ("wall", "cpu")}
        median = {kind: statistics.median(t[kind] for t in timings) for kind in ("wall", "cpu")}
        print(f"kr_docs: {len(pairs)} pages, parsing and evaluation timed (best / median of {len(timings)} passes)")
        print(f"  eval.cleval : CPU {best['cpu']:.3f} / {median['cpu']:.3f} s, wall {best['wall']:.3f} / "
              f"{median['wall']:.3f} s")
        m = metrics(ours)
        print(f"  detection H {m['detection']['hmean']!r}, end-to-end H {m['end_to_end']['hmean']!r}")
        if args.cleval_python:
            answer = run_package(args.cleval_python, {"mode": "zip", "gt_zip": str(gt_zip), "res_zip": str(res_zip),
                                                      "passes": 2})
            cold, warm = answer["passes"]
            print(f"  cleval 0.1.1: first pass (numba compiling) CPU {cold['cpu']:.3f} s, wall {cold['wall']:.3f} s;"
                  f" second pass CPU {warm['cpu']:.3f} s, wall {warm['wall']:.3f} s"
                  f" (import {answer['import_seconds']:.2f} s not counted)")
            print(f"  speed-up, CPU time: {cold['cpu'] / best['cpu']:.1f}x against the first pass, "
                  f"{warm['cpu'] / best['cpu']:.1f}x against the second")
            print(f"  speed-up, wall time: {cold['wall'] / best['wall']:.1f}x against the first pass, "
                  f"{warm['wall'] / best['wall']:.1f}x against the second")
            differences = compare(flat_counts(ours), answer["counts"], with_scores=True)
            if differences:
                status = EXIT_DIFFER
                print("  counts DIFFER:\n    " + "\n    ".join(differences), file=sys.stderr)
            else:
                print("  counts equal: all 17 counts and both P/R/H blocks")
    else:
        print(f"kr_docs not found at {args.data}; skipping the timing")

    if args.random:
        cases = edge_cases() + make_cases(args.random, args.seed)
        ours_cases = [flat_counts(evaluate_case(case)) for case in cases]
        if args.cleval_python:
            theirs = run_package(args.cleval_python, {"mode": "cases", "cases": cases})["results"]
            crashed = [k for k, result in enumerate(theirs) if result is None]
            bad = [(k, compare(a, b)) for k, (a, b) in enumerate(zip(ours_cases, theirs))
                   if b is not None and compare(a, b)]
            compared = len(cases) - len(crashed)
            print(f"edge and random cases: {compared - len(bad)}/{compared} equal"
                  + (f" ({len(crashed)} more crashed the package: cases {crashed[:10]})" if crashed else ""))
            for k, diff in bad[:10]:
                print(f"  case {k}: " + "; ".join(diff), file=sys.stderr)
            if bad:
                status = EXIT_DIFFER
            if args.write_fixture:
                names = [f.name for f in fields(ClevalCounts)]
                cases = [case for case, result in zip(cases, theirs) if result is not None]
                for case, result in zip(cases, [result for result in theirs if result is not None]):
                    case["package_counts"] = [result[name] for name in names]
                args.write_fixture.parent.mkdir(parents=True, exist_ok=True)
                header = {"generator": f"benchmarks/cleval_speed.py --random {args.random} --seed {args.seed}",
                          "package": "cleval 0.1.1", "count_fields": names}
                body = ",\n".join(json.dumps(case, ensure_ascii=False, separators=(",", ":")) for case in cases)
                args.write_fixture.write_text(json.dumps(header, ensure_ascii=False)[:-1] + ', "cases": [\n'
                                              + body + "\n]}\n", encoding="utf-8")
                print(f"wrote {args.write_fixture}")
        else:
            print(f"edge and random cases: {len(cases)} evaluated (no package to compare with)")
    return status


if __name__ == "__main__":
    sys.exit(main())
