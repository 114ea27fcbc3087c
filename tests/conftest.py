"""Shared fixtures: small images with Korean text drawn in NanumGothic, and their ground truth.

The images are rendered, not stored, so their ground truth is exact by construction (boxes come
from the font's own text bounding boxes) and no binary fixture lives in the repository.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "tests" / "data"

# (stem, file suffix, canvas size, [(text, x, y, font size)]); "###" marks a don't-care region.
_LAYOUTS = [
    ("sign_exit", ".png", (560, 220), [("출입구", 40, 40, 64), ("비상구", 300, 40, 64), ("###", 40, 150, 30)]),
    ("sign_shop", ".jpg", (640, 260), [("편의점", 40, 30, 60), ("영업중", 40, 140, 60), ("할인", 400, 140, 60)]),
    ("sign_hall", ".png", (420, 160), [("도서관", 50, 45, 70)]),
]


@dataclass(frozen=True)
class RenderedWord:
    text: str
    box: tuple[int, int, int, int]  # left, top, right, bottom

    @property
    def care(self) -> bool:
        return self.text != "###"

    @property
    def quad(self) -> tuple[tuple[float, float], ...]:
        left, top, right, bottom = self.box
        return ((left, top), (right, top), (right, bottom), (left, bottom))


@dataclass(frozen=True)
class RenderedSet:
    """``images_dir/<stem><suffix>`` and ``gt_dir/gt_<stem>.txt`` for a few Korean sign images."""

    images_dir: Path
    gt_dir: Path
    words: dict[str, list[RenderedWord]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def care_words(self, stem: str) -> list[RenderedWord]:
        return [w for w in self.words[stem] if w.care]


@pytest.fixture(scope="session")
def nanum_font() -> Path:
    """NanumGothic as fontconfig resolves it (Debian's fonts-nanum); skips when absent."""
    if shutil.which("fc-match") is None:
        pytest.skip("fc-match (fontconfig) is not installed; the Makefile installs fontconfig and fonts-nanum")
    out = subprocess.run(["fc-match", "-f", "%{file}", "NanumGothic"], capture_output=True, text=True, check=False)
    path = Path(out.stdout.strip())
    if out.returncode != 0 or not path.is_file() or "nanum" not in path.name.lower():
        pytest.skip("the NanumGothic font is not installed (apt-get install fonts-nanum)")
    return path


def render_text_image(font_path: Path, size: tuple[int, int],
                      words: list[tuple[str, int, int, int]]) -> tuple[Image.Image, list[RenderedWord]]:
    """Black words on white at the given positions, with their tight boxes."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    rendered = []
    for text, x, y, font_size in words:
        font = ImageFont.truetype(str(font_path), font_size)
        draw.text((x, y), text, font=font, fill="black")
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        rendered.append(RenderedWord(text, (left, top, right, bottom)))
    return image, rendered


@pytest.fixture(scope="session")
def korean_images(tmp_path_factory: pytest.TempPathFactory, nanum_font: Path) -> RenderedSet:
    """Three small sign-like images (PNG and JPEG) with Korean words and their gt files."""
    root = tmp_path_factory.mktemp("korean_images")
    images_dir, gt_dir = root / "images", root / "gt"
    images_dir.mkdir()
    gt_dir.mkdir()
    rendered = RenderedSet(images_dir, gt_dir)
    for stem, suffix, size, words in _LAYOUTS:
        image, boxes = render_text_image(nanum_font, size, words)
        path = images_dir / f"{stem}{suffix}"
        image.save(path, quality=95) if suffix == ".jpg" else image.save(path)
        lines = [",".join(str(int(v)) for point in w.quad for v in point) + f",{w.text}" for w in boxes]
        (gt_dir / f"gt_{stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        rendered.words[stem] = boxes
        rendered.files[stem] = path
    return rendered


@pytest.fixture(scope="session")
def provider_samples() -> Path:
    """The recorded real provider responses shipped in ``tests/data/provider_samples``."""
    path = DATA_DIR / "provider_samples"
    if not path.is_dir():
        pytest.skip(f"recorded provider responses not found at {path} (they are part of the repository: "
                    "restore tests/data/provider_samples from git)")
    return path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: end-to-end runs of bench against loopback emulators "
                                       "(left out by make test-fast: -m 'not slow')")
