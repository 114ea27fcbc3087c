"""Shared helpers for the collect tests: rendered images with matching gt, and running `bench`."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

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
