"""Shared helpers for the collect tests: rendered images with matching gt, and running `bench`."""
from __future__ import annotations

import csv
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from adapters.collection.collector import CollectOptions, Summary, collect
from adapters.collection.journal import JOURNAL_VERSION, Journal
from adapters.core.images import ImageFile, PreparedImage, discover
from adapters.core.schema import ImageResult, Item
from adapters.providers.base import Attempt, Outcome, Provider, Verdict

REPO = Path(__file__).resolve().parents[1]
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
WORDS = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "수원", "춘천", "전주", "제주",
         "강릉", "포항", "목포", "여수", "청주", "천안", "안동", "경주")


def word_for(index: int) -> str:
    """A distinct text per image index, so a response mapped to the wrong image is caught."""
    return f"{WORDS[index % len(WORDS)]}{index}"


def render(path: Path, text: str, size: tuple[int, int] = (320, 120), font_size: int = 48,
           fmt: str | None = None, exif_orientation: int | None = None) -> tuple[int, int, int, int]:
    """Black text on white; returns the text's box (x0, y0, x1, y1) in the saved (stored) image."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), font_size)
    x0, y0 = size[0] // 8, size[1] // 4
    draw.text((x0, y0), text, fill="black", font=font)
    box = draw.textbbox((x0, y0), text, font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif
    image.save(path, fmt, **kwargs)
    return box


def write_bomb_png(path: Path, side: int = 30000) -> None:
    """A tiny PNG whose header claims side x side pixels: Pillow refuses it as a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
                     + chunk(b"IEND", b""))


def gt_line(box: tuple[float, float, float, float], text: str) -> str:
    x0, y0, x1, y1 = box
    return f"{x0},{y0},{x1},{y0},{x1},{y1},{x0},{y1},{text}"


def make_set(root: Path, count: int, size: tuple[int, int] = (320, 120), suffix: str = ".png",
             prefix: str = "img_") -> tuple[Path, Path, dict[str, str]]:
    """``count`` images under root/images and gt files under root/gt; returns (images, gt, text by stem)."""
    images, gt = root / "images", root / "gt"
    gt.mkdir(parents=True, exist_ok=True)
    texts = {}
    for k in range(count):
        stem = f"{prefix}{k:03d}"
        text = word_for(k)
        box = render(images / f"{stem}{suffix}", text, size)
        (gt / f"gt_{stem}.txt").write_text(gt_line(box, text) + "\n", encoding="utf-8")
        texts[stem] = text
    return images, gt, texts


def bench_env(**extra: str) -> dict[str, str]:
    """A clean environment for a `bench` subprocess: no provider credentials unless given."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NAVER_", "KAKAO_", "JENTI_", "UPSTAGE_", "GOOGLE_VISION_", "AZURE_DI_", "OPENAI_"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def bench_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench", *args]


def run_bench(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(bench_cmd(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def journal_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def all_output_text(out: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8-sig", errors="replace") for p in sorted(out.rglob("*")) if p.is_file())


# --- the collector in this process, with a provider that needs no network --------------------------

class Answering(Provider):
    """Answers ``{"key": stem, "setting": ...}`` at once, without any I/O; records what it was sent."""

    name = "fake"

    def __init__(self, setting: str = "psm11") -> None:
        self.setting = setting
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def call(self, image: PreparedImage, timeout: float) -> Attempt:
        with self._lock:
            self.calls.append(image.key)
        return Attempt(Verdict(Outcome.SUCCESS, body={"key": image.key, "setting": self.setting}), 1.0, len(image.data))

    def parse(self, raw):
        return ImageResult.ok([Item(None, f"{raw['key']}:{raw['setting']}")])


def collect_quietly(provider: Provider, images: Path, out: Path, request: dict | None = None,
                    lines: list[str] | None = None, **options) -> Summary:
    """The collector in this process on the images under ``images``; summary lines go to ``lines``."""
    options = {"progress": False, "concurrency": 2, **options}
    settings = {} if request is None else {"request": request}
    return collect(provider, discover(images), out, CollectOptions(**options),
                   report=(lines.append if lines is not None else lambda line: None), **settings)


def stored(out: Path, provider: str = "fake") -> dict:
    return json.loads((out / f"{provider}.json").read_text(encoding="utf-8"))


def runs_rows(out: Path, provider: str = "fake") -> list[dict[str, str]]:
    with open(out / f"{provider}.runs.csv", encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def wait_for_lines(path: Path, count: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        if process.poll() is not None:
            raise AssertionError(f"bench exited early: {process.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError(f"{path} never reached {count} lines")


def quiet_collect_args(provider: str, images: Path, out: Path, *extra: str) -> list[str]:
    return ["collect", "--provider", provider, "--images", str(images), "--out", str(out), "--backoff", "0.01",
            "--no-progress", *extra]


def journal_entry(image: ImageFile, status: str, raw, request: dict | None, provider: str = "naver") -> dict:
    """One journal record as the collector writes it, for ``image`` as it is on disk now."""
    entry = {"v": JOURNAL_VERSION, "provider": provider, "image": image.key, "file": str(image.path),
             "status": status, "raw": raw, "record": {"identity": image.identity()}}
    if request is not None:
        entry["request"] = request
    return entry


def write_journal(out: Path, provider: str, request: dict | None, ok=(), failed=(), raw=None) -> Path:
    """A journal as the collector writes it: ``ok`` images collected, ``failed`` ones failed."""
    path = out / f"{provider}.journal.jsonl"
    with Journal(path) as journal:
        journal.load()
        for image in ok:
            journal.append(journal_entry(image, "ok", raw if raw is not None else {"images": []}, request, provider))
        for image in failed:
            journal.append(journal_entry(image, "failed", None, request, provider))
    return path
