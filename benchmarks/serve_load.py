"""A bounded load test of `bench serve` on loopback, against the engine called directly.

It renders a few Korean sign images, starts ``bench serve --port 0`` as a child process, and:

1. **baseline and concurrency 1, paired**: for every image (two passes), the engine called directly
   in this process (``tesseract.recognize``, the call the server makes), then the same image sent
   to the server alone. The baseline's images/s is the sequential ceiling of one engine; the
   median of the pairwise differences is the server's own cost per request (HTTP, multipart,
   validation, JSON), free of the drift between two separate runs on a shared machine;
2. **load**: ``--requests`` POSTs to ``/evaluation`` from ``--concurrency`` client threads, stopping by
   itself after the last request or at ``--deadline`` seconds, whichever comes first. Every answer
   is checked against the baseline's result for its image; a wrong answer counts as an error.

It prints requests/s, p50/p95/max latency and the error count, and the throughput ratio to the
baseline: with ``--workers N`` engine processes the ideal is ``min(N, cores)``, since each request
is one single-threaded Tesseract process. Only 127.0.0.1 is contacted.

Run: ``python benchmarks/serve_load.py`` (about a minute on 2 cores with the defaults).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from adapters.providers import jenti, tesseract  # noqa: E402

FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
SIGNS = (("출입구", "비상구"), ("편의점", "영업중"), ("도서관", "열람실"), ("주차장", "입구"),
         ("약국", "병원"), ("서울역", "부산역"), ("할인", "행사"), ("화장실", "매표소"))


def render_images(folder: Path, count: int) -> list[Path]:
    """Sign-like PNGs (480 x 200, two words each) that differ from one another."""
    paths = []
    for k in range(count):
        first, second = SIGNS[k % len(SIGNS)]
        image = Image.new("RGB", (480, 200), "white")
        draw = ImageDraw.Draw(image)
        draw.text((30, 30), first, fill="black", font=ImageFont.truetype(FONT, 52 + 2 * (k % 5)))
        draw.text((30, 115), f"{second} {k + 1}층", fill="black", font=ImageFont.truetype(FONT, 44))
        path = folder / f"sign_{k:02d}.png"
        image.save(path)
        paths.append(path)
    return paths


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (the README's p50/p95 convention)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def start_server(workdir: Path, workers: int) -> tuple[subprocess.Popen, str]:
    stdout = workdir / "serve.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NAVER_", "KAKAO_", "JENTI_"))}
    env["PYTHONPATH"] = str(REPO)
    with open(stdout, "w") as out, open(workdir / "serve.err", "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "bench", "serve", "--port", "0", "--workers", str(workers)],
                                   cwd=workdir, env=env, stdout=out, stderr=err)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        found = re.search(r"at (http://127\.0\.0\.1:\d+) ", stdout.read_text(encoding="utf-8"))
        if found:
            return process, found.group(1)
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"bench serve did not start: {(workdir / 'serve.err').read_text(encoding='utf-8')[-2000:]}")


def paired(url: str, images: list[tuple[str, bytes]],
           passes: int = 2) -> tuple[dict[str, Any], list[float], list[float], list[str]]:
    """Each image through the engine directly, then through the server alone: expected answers,
    seconds per direct call, seconds per request, and the errors of the requests."""
    expected, direct, served, errors = {}, [], [], []
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxies
    tesseract.recognize(images[0][1])  # warm-up (version probe, page cache), not counted
    session.get(f"{url}/health", timeout=30)
    for _ in range(passes):
        for name, data in images:
            t0 = time.perf_counter()
            result = tesseract.parse(tesseract.recognize(data))
            direct.append(time.perf_counter() - t0)
            expected[name] = jenti.render_success(result.items)
            t0 = time.perf_counter()
            answer = session.post(f"{url}/evaluation", files={"file": (name, data, "image/png")}, timeout=60)
            served.append(time.perf_counter() - t0)
            if answer.status_code != 200 or answer.json() != expected[name]:
                errors.append(f"{name}: HTTP {answer.status_code}, answer differs from the engine's")
    return expected, direct, served, errors


class Load:
    """``total`` POSTs from ``concurrency`` threads, each with its own session, until done or the deadline."""

    def __init__(self, url: str, images: list[tuple[str, bytes]], expected: dict[str, Any], total: int,
                 concurrency: int, deadline: float) -> None:
        self.url, self.images, self.expected = url, images, expected
        self.total, self.concurrency, self.deadline = total, concurrency, deadline
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.sent = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def _next(self) -> int | None:
        with self._lock:
            if self.sent >= self.total or time.monotonic() >= self.stop_at:
                return None
            self.sent += 1
            return self.sent - 1

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.trust_env = False  # loopback only: no proxies
        return self._local.session

    def _client(self) -> None:
        session = self._session()
        while (k := self._next()) is not None:
            name, data = self.images[k % len(self.images)]
            t0 = time.perf_counter()
            try:
                answer = session.post(f"{self.url}/evaluation", files={"file": (name, data, "image/png")}, timeout=60)
                elapsed = time.perf_counter() - t0
                problem = None if answer.status_code == 200 else f"HTTP {answer.status_code}: {answer.text[:200]}"
                if problem is None and answer.json() != self.expected[name]:
                    problem = f"{name}: answer differs from the engine's"
            except requests.RequestException as exc:
                elapsed, problem = time.perf_counter() - t0, f"{type(exc).__name__}"
            with self._lock:
                self.latencies.append(elapsed)
                if problem:
                    self.errors.append(problem)

    def run(self) -> float:
        self.stop_at = time.monotonic() + self.deadline
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for future in [pool.submit(self._client) for _ in range(self.concurrency)]:
                future.result()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests in the load phase (default 200)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="bench serve --workers (default: cores)")
    parser.add_argument("--images", type=int, default=16, help="distinct images (default 16)")
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds after which the load phase stops")
    args = parser.parse_args()
    if tesseract.available():
        raise SystemExit(tesseract.available())

    with tempfile.TemporaryDirectory(prefix="serve_load_") as tmp:
        root = Path(tmp)
        images = [(path.name, path.read_bytes()) for path in render_images(root, args.images)]
        process, url = start_server(root, args.workers)
        try:
            expected, direct, single, single_errors = paired(url, images)
            load = Load(url, images, expected, total=args.requests, concurrency=args.concurrency,
                        deadline=args.deadline)
            load_wall = load.run()
        finally:
            process.terminate()
            process.wait(timeout=15)

    cores = os.cpu_count() or 1
    base_rps = len(direct) / sum(direct)
    load_rps = len(load.latencies) / load_wall
    print(f"machine: {cores} cores; bench serve --workers {args.workers}; {len(images)} distinct 480x200 PNG "
          f"signs (2 Korean lines each); only 127.0.0.1")
    print()
    print("| phase | requests | errors | req/s | p50 ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = [("baseline: engine called directly, sequential", direct, 0, base_rps),
            ("bench serve, concurrency 1", single, len(single_errors), len(single) / sum(single)),
            (f"bench serve, concurrency {args.concurrency}", load.latencies, len(load.errors), load_rps)]
    for label, seconds, errors, rps in rows:
        ms = [t * 1000 for t in seconds]
        print(f"| {label} | {len(ms)} | {errors} | {rps:.2f} | {percentile(ms, 0.5):.0f} | "
              f"{percentile(ms, 0.95):.0f} | {max(ms):.0f} |")
    print()
    ideal = min(args.workers, cores)
    overhead = percentile([(b - a) * 1000 for a, b in zip(direct, single)], 0.5)
    print(f"load phase: {len(load.latencies)} requests in {load_wall:.1f} s; throughput ratio to the baseline "
          f"{load_rps / base_rps:.2f} (ideal {ideal}: {args.workers} engine processes on {cores} cores)")
    print(f"server overhead per request (median of paired differences, concurrency 1): {overhead:+.0f} ms")
    if load.sent < args.requests:
        print(f"deadline of {args.deadline:g} s reached: {args.requests - load.sent} requests not sent")
    for problem in sorted(set(load.errors + single_errors))[:10]:
        print(f"error: {problem}")

if __name__ == "__main__":
    main()
