"""How fast `bench collect` drives a slow provider, and what it costs on our side.

Against the CLOVA emulator with 100 ms added latency per answer, this measures:

* images/s at concurrency 1, 4 and 16, against the ideal ``concurrency / latency``;
* the collector's own CPU time per image (``time.process_time`` of this process; the
  emulator runs in a child process so its CPU is not counted);
* the ``--rps`` ceiling: request arrival times at the emulator, counted in every
  one-second window, never above the ceiling.

Run: ``python benchmarks/collect_speed.py`` (about 15 s). Target from issue 3: throughput
within 80% of ideal up to 16 in flight, and a few ms of CPU per image.
"""
from __future__ import annotations

import csv
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from adapters.collection.collector import CollectOptions, collect  # noqa: E402
from adapters.core.credentials import ProviderConfig, Secret  # noqa: E402
from adapters.core.images import discover  # noqa: E402
from adapters.providers.base import make_provider  # noqa: E402
from adapters.providers.registry import Settings  # noqa: E402

LATENCY_MS = 100.0
SECRET = "bench-secret"
FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
WORDS = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종")


def make_images(root: Path, count: int) -> tuple[Path, Path]:
    """Small rendered images (about 3 KB, like a cropped sign) with one gt word each."""
    images, gt = root / "images", root / "gt"
    images.mkdir(parents=True)
    gt.mkdir()
    font = ImageFont.truetype(FONT, 40)
    for k in range(count):
        text = f"{WORDS[k % len(WORDS)]}{k}"
        image = Image.new("RGB", (320, 100), "white")
        draw = ImageDraw.Draw(image)
        x0, y0, x1, y1 = draw.textbbox((20, 20), text, font=font)
        draw.text((20, 20), text, fill="black", font=font)
        image.save(images / f"img_{k:04d}.png")
        (gt / f"gt_img_{k:04d}.txt").write_text(f"{x0},{y0},{x1},{y0},{x1},{y1},{x0},{y1},{text}\n", encoding="utf-8")
    return images, gt


def _serve(conn, gt_dir: str, latency_ms: float) -> None:
    """Child process: one emulator; send its URL, wait for 'stop', send back arrival times."""
    from adapters.emulators.emulator import Emulator, Faults, GtAnswers

    with Emulator("naver", GtAnswers(Path(gt_dir)), Faults(latency_ms=latency_ms), secret=SECRET) as emulator:
        conn.send(emulator.url)
        conn.recv()
        conn.send([record.time for record in emulator.requests])


class ChildEmulator:
    def __init__(self, gt_dir: Path, latency_ms: float) -> None:
        self._conn, child = mp.Pipe()
        self._process = mp.get_context("spawn").Process(target=_serve, args=(child, str(gt_dir), latency_ms))

    def __enter__(self) -> "ChildEmulator":
        self._process.start()
        self.url = self._conn.recv()
        return self

    def arrivals(self) -> list[float]:
        self._conn.send("stop")
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def run(images_dir: Path, gt_dir: Path, out: Path, count: int, concurrency: int,
        rps: float | None = None) -> dict[str, float]:
    images = discover(images_dir)[:count]
    with ChildEmulator(gt_dir, LATENCY_MS) as emulator:
        provider = make_provider(ProviderConfig("naver", emulator.url, Secret(SECRET)),
                                 Settings(pool_size=concurrency))
        options = CollectOptions(concurrency=concurrency, rps=rps, progress=False)
        cpu, wall = time.process_time(), time.perf_counter()
        summary = collect(provider, images, out, options, secrets=(SECRET,), report=lambda line: None)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        provider.close()
        arrivals = emulator.arrivals()
    assert summary.collected == count, summary.line()
    with open(summary.paths.runs, encoding="utf-8-sig", newline="") as handle:
        latency = statistics.median(float(row["latency_ms"]) for row in csv.DictReader(handle))
    return {"images": count, "wall": wall, "rate": count / wall, "cpu_ms": 1000 * cpu / count,
            "max_window": max_in_any_window(arrivals), "requests": len(arrivals), "latency_ms": latency}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images_dir, gt_dir = make_images(root, 200)
        print(f"emulator: naver, {LATENCY_MS:.0f} ms added latency per answer, 3 KB PNG images\n")
        print("ideal = concurrency / 100 ms; 'attempt ms' is the median time of one call as the collector\n"
              "measures it, and 'ratio@attempt' compares with concurrency / that time, i.e. how much the\n"
              "collector itself loses beyond what the server and the network take.\n")
        print(f"{'concurrency':>11} {'images':>6} {'wall s':>7} {'img/s':>7} {'ideal':>7} {'ratio':>6} "
              f"{'attempt ms':>10} {'ratio@attempt':>13} {'CPU ms/img':>10}")
        for concurrency in (1, 4, 16):
            count = max(20, 12 * concurrency)
            result = run(images_dir, gt_dir, root / f"out_c{concurrency}", count, concurrency)
            ideal = concurrency / (LATENCY_MS / 1000)
            measured_ideal = concurrency / (result["latency_ms"] / 1000)
            print(f"{concurrency:>11} {count:>6} {result['wall']:>7.2f} {result['rate']:>7.1f} {ideal:>7.1f} "
                  f"{result['rate'] / ideal:>6.2f} {result['latency_ms']:>10.1f} "
                  f"{result['rate'] / measured_ideal:>13.2f} {result['cpu_ms']:>10.2f}")
        print()
        print(f"{'--rps':>6} {'concurrency':>11} {'requests':>8} {'max in any 1 s window':>22} {'ok':>4}")
        for rps in (5.0, 20.0):
            count = int(rps * 3)
            result = run(images_dir, gt_dir, root / f"out_rps{rps:g}", count, 16, rps=rps)
            ok = result["max_window"] <= rps
            print(f"{rps:>6g} {16:>11} {result['requests']:>8} {result['max_window']:>22} {'yes' if ok else 'NO':>4}")


if __name__ == "__main__":
    main()
