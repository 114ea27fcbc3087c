"""Throughput of the local engines, Tesseract and RapidOCR, as `bench collect` runs them.

Two sets: small rendered signs (560 x 220 px, two lines each: a Korean word, and Latin letters
with digits, since RapidOCR's shipped recognizer reads no Hangul) and ``bench synth`` scenes
(about 1000 x 750 px, several panels of Korean words on cluttered backgrounds). For each set it
runs ``bench collect --provider P`` for each engine in turn, ``--rounds`` times interleaved (so a
busy machine slows both alike), each round into a fresh folder, and reports the wall time of the
whole command (worker start and model loading included), images/s, and the median and p95
per-image latency the collector recorded (the engine's time on one image, start-up excluded),
with each engine's default concurrency (one worker per usable CPU) unless ``--concurrency``.

Run: ``python benchmarks/local_engines.py [--images 24] [--synth 12] [--rounds 2]`` (about two
minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
KOREAN = ("출입구", "비상구", "편의점", "영업중", "도서관", "화장실", "주차장", "매표소")
LATIN = ("EXIT 12", "OPEN 9-18", "SALE 30%", "GATE 7", "BUS 401", "ROOM 204", "TEL 1588", "FLOOR 3")


def make_images(root: Path, count: int) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    images = root / "images"
    images.mkdir(parents=True)
    font = ImageFont.truetype(FONT, 44)
    for k in range(count):
        image = Image.new("RGB", (560, 220), "white")
        draw = ImageDraw.Draw(image)
        draw.text((30, 30), KOREAN[k % len(KOREAN)], font=font, fill="black")
        draw.text((30, 130), LATIN[(k * 3) % len(LATIN)], font=font, fill="black")
        image.save(images / f"sign_{k:03d}.png")
    return images


def run(provider: str, images: Path, out: Path, concurrency: int | None) -> dict[str, float]:
    command = [sys.executable, "-m", "bench", "collect", "--provider", provider, "--images", str(images),
               "--out", str(out), "--no-progress"]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{provider}: exit {done.returncode}: {done.stderr.strip()}")
    with open(out / f"{provider}.runs.csv", encoding="utf-8-sig", newline="") as handle:
        latencies = sorted(float(row["latency_ms"]) for row in csv.DictReader(handle))
    return {"wall": wall, "images": len(latencies), "p50": statistics.median(latencies),
            "p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]}


def make_synth(root: Path, count: int) -> Path:
    subprocess.run([sys.executable, "-m", "bench", "synth", "--out", str(root / "synth"), "--images", str(count),
                    "--seed", "7", "--no-progress"], cwd=REPO, check=True, capture_output=True)
    return root / "synth" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24, help="rendered signs")
    parser.add_argument("--synth", type=int, default=12, help="bench synth scenes")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args()
    engines = ("tesseract", "rapidocr")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = {f"{args.images} signs, 560 x 220": make_images(Path(tmp), args.images),
                f"{args.synth} synth scenes": make_synth(Path(tmp), args.synth)}
        for number, (label, images) in enumerate(sets.items()):
            results: dict[str, list[dict[str, float]]] = {engine: [] for engine in engines}
            for round_number in range(args.rounds):
                for engine in engines:
                    out = Path(tmp) / f"{engine}-{number}-{round_number}"
                    results[engine].append(run(engine, images, out, args.concurrency))
            for engine in engines:
                best = min(results[engine], key=lambda r: r["wall"])
                rows.append(f"| {label} | {engine} | {best['wall']:.1f} | {best['images'] / best['wall']:.2f} | "
                            f"{best['p50']:.0f} | {best['p95']:.0f} |")
    print(f"{len(os.sched_getaffinity(0))} usable CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
          f"{args.rounds} rounds (the fastest shown)")
    print("| set | engine | wall s | img/s | p50 ms | p95 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
