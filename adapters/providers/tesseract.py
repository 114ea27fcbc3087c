"""The local engine: Tesseract (5.x; 4.x also works) with Debian's ``kor`` model, run as a subprocess.

Registered as ``PROVIDER``: the engine itself, the collecting provider (worker processes), the
``LocalEngine`` that emulators and ``bench serve`` run, its options (``lang``, ``psm``) and price.

No Python binding is needed: ``tesseract <image> stdout -l kor+eng --psm N tsv`` prints one row
per page / block / paragraph / line / word, and the word rows (level 5) carry the box and a
confidence in 0..100. :func:`recognize` keeps exactly what Tesseract said, as a JSON-able "raw
response", so a run can be re-scored like any web provider's::

    {"engine": "tesseract", "version": "5.3.0", "lang": "kor+eng", "psm": 11,
     "width": 640, "height": 200,
     "words": [{"block": 1, "par": 1, "line": 1, "word": 1, "left": 10, "top": 12,
                "width": 80, "height": 30, "conf": 91.5, "text": "안녕하세요"}, ...]}

:func:`parse` turns that into the common schema. Coordinates refer to the image after its EXIF
orientation is applied (the collector sends oriented images to every provider, so all results
share one frame).

PSM 11 ("sparse text, as much as possible, in no order") is the default. Measured on 74 rendered
Korean sign-like images (NanumGothic family, 354 words; words read exactly): multi-column
signboards PSM 11 50% / PSM 6 32% / PSM 3 9%; one left-aligned block 78% / 82% / 19%;
panels on cluttered, rotated JPEG backgrounds 16% / 16% / 2%. PSM 6 assumes one uniform block and
merges columns; PSM 3's page layout analysis drops light-on-dark text. ``--dpi`` changed nothing.

Vertical Korean (top to bottom, columns right to left) needs Debian's ``tesseract-ocr-kor-vert``
(``kor_vert``, with the ``Hangul_vert`` script model) and a page segmentation mode that expects
vertical lines: with a ``_vert`` model in ``lang`` (``kor_vert``, ``kor+kor_vert``, ...) the
default PSM is 5 ("a single uniform block of vertically aligned text"). PSM 11 cuts vertical
columns into single, mostly misread characters.

The collecting provider is :class:`~adapters.providers.engine_pool.EngineProvider`: one
Tesseract subprocess at a time in each worker process.
"""
from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
from pathlib import Path
from collections.abc import Mapping  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from adapters.core.credentials import ProviderConfig
from adapters.core.errors import EngineUnavailable, PermanentError, ProviderError
from adapters.core.images import ImagePolicy, needs_rotation
from adapters.core.pricing import Price
from adapters.core.schema import ImageResult, Item
from adapters.core.system import usable_cpus
from adapters.providers.engine_pool import EngineProvider
from adapters.providers.registry import LOCAL, ProviderSpec, Settings
from adapters.providers.response_fields import ResponseFormatError, coordinate, rectangle

NAME = "tesseract"
DEFAULT_LANG = "kor+eng"
DEFAULT_PSM = 11
VERTICAL_PSM = 5  # "a single uniform block of vertically aligned text"
DEFAULT_TIMEOUT = 120.0
BINARY = "tesseract"
INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-kor"

# Formats Leptonica (Tesseract's image library) reads itself; anything else is re-encoded as PNG.
_NATIVE_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP", "PPM"})
_WORD_LEVEL = "5"
_TSV_COLUMNS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num",
                "left", "top", "width", "height", "conf", "text")
_INT_FIELDS = {"block_num": "block", "par_num": "par", "line_num": "line", "word_num": "word",
               "left": "left", "top": "top", "width": "width", "height": "height"}


class TesseractUnavailable(EngineUnavailable):
    """Tesseract or one of its language models is not installed; the message says what to install."""


def _run(args: list[str], timeout: float, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    # One OpenMP thread per process: the collector runs several engines in parallel, and
    # Tesseract's own threading only slows that down.
    env.setdefault("OMP_THREAD_LIMIT", "1")
    return subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, env=env, check=False)


@functools.lru_cache(maxsize=8)
def _version(binary: str) -> str:
    """``5.3.0`` from the first line of ``tesseract --version``."""
    out = _run([binary, "--version"], timeout=30)
    text = (out.stdout or out.stderr).decode("utf-8", "replace").strip()
    first = text.splitlines()[0] if text else ""
    return first.split()[-1] if first.lower().startswith("tesseract") else first


def _installed_languages(binary: str) -> set[str]:
    out = _run([binary, "--list-langs"], timeout=30)
    lines = (out.stdout + out.stderr).decode("utf-8", "replace").splitlines()
    return {line.strip() for line in lines[1:] if line.strip() and " " not in line.strip()}


# Script models are named after the script (Hangul, Hangul_vert); Debian ships them as script-<code>.
_SCRIPT_PACKAGES = {"Hangul": "tesseract-ocr-script-hang", "Hangul_vert": "tesseract-ocr-script-hang-vert"}


def _package_for(language: str) -> str:
    return _SCRIPT_PACKAGES.get(language) or f"tesseract-ocr-{language.lower().replace('_', '-')}"


def available(lang: str = DEFAULT_LANG, binary: str = BINARY) -> str | None:
    """None when the engine can run ``lang``; otherwise what is missing and how to install it."""
    path = shutil.which(binary)
    if path is None:
        return f"the Tesseract OCR engine is not installed ({binary!r} not found on PATH): {INSTALL_HINT}"
    try:
        installed = _installed_languages(path)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run {path} ({exc}); reinstall it: {INSTALL_HINT}"
    missing = [code for code in lang.split("+") if code and code not in installed]
    if not missing:
        return None
    packages = " ".join(_package_for(code) for code in missing)
    have = ", ".join(sorted(installed)) or "none"
    hint = INSTALL_HINT if "kor" in missing else f"apt-get install {packages}"
    return (f"Tesseract has no language data for {', '.join(repr(m) for m in missing)} "
            f"(installed: {have}): {hint}")


def _describe(image: Path | bytes) -> str:
    return str(image) if isinstance(image, Path) else f"image bytes ({len(image)} bytes)"


def _prepare(image: Path | str | bytes) -> tuple[str, bytes | None, int, int]:
    """Where Tesseract reads the image from, what to feed on stdin, and the oriented size."""
    what = _describe(Path(image) if isinstance(image, str) else image)
    try:
        source = io.BytesIO(image) if isinstance(image, (bytes, bytearray)) else Path(image).open("rb")
    except OSError as exc:
        raise PermanentError(f"{what}: cannot read the file ({exc.strerror or exc})") from None
    try:
        with Image.open(source) as img:
            frames = getattr(img, "n_frames", 1)
            if img.format in _NATIVE_FORMATS and not needs_rotation(img) and frames == 1:
                width, height = img.size
                if isinstance(image, (bytes, bytearray)):
                    return "stdin", bytes(image), width, height
                return str(Path(image).absolute()), None, width, height
            # EXIF-rotated, multi-page or exotic: hand Tesseract exactly the pixels we mean.
            img.seek(0)
            oriented = ImageOps.exif_transpose(img)
            buffer = io.BytesIO()
            oriented.save(buffer, format="PNG")
            return "stdin", buffer.getvalue(), oriented.width, oriented.height
    except UnidentifiedImageError:
        raise PermanentError(f"{what}: not an image in a format Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise PermanentError(f"{what}: not a readable image ({exc})") from None
    finally:
        source.close()


def _tesseract_failure(stderr: bytes, what: str, lang: str) -> Exception:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    message = "; ".join(lines[-3:]) or "no message"
    if any("Failed loading language" in line or "Could not initialize tesseract" in line for line in lines):
        return TesseractUnavailable(available(lang) or f"Tesseract could not load {lang!r}: {message}")
    return PermanentError(f"{what}: Tesseract failed: {message}")


def _int(value: str, column: str, row: int) -> int:
    try:
        return int(value)
    except ValueError:
        raise ProviderError(f"Tesseract TSV row {row}: {column} is not an integer: {value!r}") from None


def parse_tsv(tsv: str) -> list[dict[str, Any]]:
    """The word rows (level 5) of Tesseract's TSV output, with typed columns."""
    words: list[dict[str, Any]] = []
    for number, line in enumerate(tsv.splitlines(), start=1):
        if number == 1 or not line:
            continue  # header
        cells = line.split("\t", len(_TSV_COLUMNS) - 1)
        if len(cells) < len(_TSV_COLUMNS) - 1 or cells[0] != _WORD_LEVEL:
            continue
        row = dict(zip(_TSV_COLUMNS, cells + [""] * (len(_TSV_COLUMNS) - len(cells))))
        word: dict[str, Any] = {short: _int(row[column], column, number) for column, short in _INT_FIELDS.items()}
        try:
            word["conf"] = float(row["conf"])
        except ValueError:
            raise ProviderError(f"Tesseract TSV row {number}: conf is not a number: {row['conf']!r}") from None
        word["text"] = row["text"]
        words.append(word)
    return words


def recognize(image: Path | str | bytes, lang: str = DEFAULT_LANG, psm: int | None = None,
              timeout: float = DEFAULT_TIMEOUT, binary: str = BINARY) -> dict[str, Any]:
    """Run Tesseract on one image (a file or encoded bytes) and return its raw response; ``psm``
    None is :data:`VERTICAL_PSM` for a vertical model (``kor_vert``), else :data:`DEFAULT_PSM`.

    Raises :class:`PermanentError` for an unreadable image, :class:`TesseractUnavailable` when the
    engine or a language is missing, and :class:`ProviderError` on a timeout.
    """
    what = _describe(Path(image) if isinstance(image, str) else image)
    path = shutil.which(binary)
    if path is None:
        raise TesseractUnavailable(available(lang, binary) or f"{binary!r} not found")
    source, stdin, width, height = _prepare(image)
    if psm is None:
        psm = VERTICAL_PSM if is_vertical(lang) else DEFAULT_PSM
    args = [path, source, "stdout", "-l", lang, "--psm", str(int(psm)), "tsv"]
    try:
        out = _run(args, timeout=timeout, stdin=stdin)
    except subprocess.TimeoutExpired:
        raise ProviderError(f"{what}: Tesseract took longer than {timeout:g} s") from None
    if out.returncode != 0:
        raise _tesseract_failure(out.stderr, what, lang)
    return {
        "engine": NAME,
        "version": _version(path),
        "lang": lang,
        "psm": int(psm),
        "width": width,
        "height": height,
        "words": parse_tsv(out.stdout.decode("utf-8", "replace")),
    }


def looks_like(raw: Any) -> bool:
    """True for a raw response made by :func:`recognize`."""
    return isinstance(raw, Mapping) and raw.get("engine") == NAME and isinstance(raw.get("words"), list)


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def parse(raw: Any) -> ImageResult:
    """Word-level items: rectangles TL, TR, BR, BL; confidence = conf / 100 clipped to [0, 1].

    Rows with confidence -1 (layout-only rows) and empty texts are left out.
    """
    if not looks_like(raw):
        raise ResponseFormatError("expected a Tesseract response: an object with engine 'tesseract' and a 'words' list")
    items = []
    for k, word in enumerate(raw["words"]):
        what = f"words[{k}]"
        if not isinstance(word, Mapping):
            raise ResponseFormatError(f"{what} is not an object")
        text = word.get("text")
        if not isinstance(text, str):
            raise ResponseFormatError(f"{what}.text is not a string")
        conf = coordinate(word.get("conf"), f"{what}.conf")
        if conf < 0 or not text.strip():
            continue
        box = [coordinate(word.get(key), f"{what}.{key}") for key in ("left", "top", "width", "height")]
        items.append(Item(
            polygon=rectangle(*box),
            text=text.strip(),
            confidence=min(1.0, max(0.0, conf / 100.0)),
            granularity="word",
        ))
    return ImageResult.ok(items, width=_size(raw.get("width")), height=_size(raw.get("height")))


# --- the collecting provider: the engine in worker processes (bench collect) ---------------------

# Leptonica reads these itself; the rest is re-encoded as PNG by prepare().
POLICY = ImagePolicy(formats=frozenset({"jpg", "png", "tiff", "bmp", "webp"}))
# Tesseract stops itself at the timeout; the pool's own limit is only a backstop past it.
GRACE_SECONDS = 30.0


def _lang(settings: Settings) -> str:
    return settings.lang or DEFAULT_LANG


def is_vertical(lang: str) -> bool:
    """True when ``lang`` has a vertical-text model (``kor_vert``, ``Hangul_vert``, ...)."""
    return any(code.endswith("_vert") for code in lang.split("+"))


def default_psm(settings: Settings) -> int:
    """PSM 5 (one block of vertical text) with a vertical model, else :data:`DEFAULT_PSM`."""
    return VERTICAL_PSM if is_vertical(_lang(settings)) else DEFAULT_PSM


def _psm(settings: Settings) -> int:
    return default_psm(settings) if settings.psm is None else settings.psm


def make(config: ProviderConfig, settings: Settings) -> EngineProvider:
    """The collecting provider: ``settings.pool_size`` engine processes."""
    return EngineProvider(NAME, ENGINE, settings, parse, policy=POLICY, processes=settings.pool_size,
                          grace=GRACE_SECONDS)


# --- the engine for emulators and bench serve ------------------------------------------------------

class Engine:
    """:func:`recognize` and friends behind the registry's ``LocalEngine`` protocol."""

    def available(self, settings: Settings) -> str | None:
        return available(_lang(settings))

    def recognize(self, data: bytes, settings: Settings, timeout: float | None = None) -> dict[str, Any]:
        return recognize(data, lang=_lang(settings), psm=_psm(settings),
                         timeout=DEFAULT_TIMEOUT if timeout is None else timeout)

    def describe(self, settings: Settings) -> str:
        return f"lang {_lang(settings)}, psm {_psm(settings)}"

    def facts(self, settings: Settings) -> dict[str, Any]:
        lang = _lang(settings)
        return {"lang": lang, "languages": [code for code in lang.split("+") if code], "psm": _psm(settings)}

    def version(self) -> str | None:
        path = shutil.which(BINARY)
        if path is None:
            return None
        try:
            return _version(path) or None
        except (OSError, subprocess.SubprocessError):
            return None


ENGINE = Engine()

PROVIDER = ProviderSpec(
    name=NAME,
    title="Tesseract",
    kind=LOCAL,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=Price(
        provider=NAME, unit="local engine", krw_per_1000=0.0, usd_per_1000=0.0, free_quota="n/a",
        source="Tesseract OCR, Apache-2.0, runs locally", checked="2026-11-25",
        note="API cost only; CPU time not included",
    ),
    setup_help="none (needs the tesseract-ocr and tesseract-ocr-kor packages)",
    options=("lang", "psm"),
    option_help={"lang": f"language models [default: {DEFAULT_LANG}]; kor_vert (alone or in a combination "
                         f"such as kor+kor_vert) reads vertical Korean",
                 "psm": f"page segmentation mode [default: {DEFAULT_PSM}, sparse text; {VERTICAL_PSM}, one block "
                        f"of vertical text, when --lang has a _vert model]"},
    defaults={"lang": DEFAULT_LANG, "psm": default_psm},
    engine=ENGINE,
    default_concurrency=usable_cpus,
    demo_runs=((f"{NAME}-psm11", {"psm": 11}), (f"{NAME}-psm6", {"psm": 6})),
    order=40,
)
