"""RapidOCR: PaddleOCR's PP-OCR pipeline (DB text detection, a direction classifier, CRNN/SVTR
recognition) on ONNX Runtime, through the ``rapidocr_onnxruntime`` package (1.4.x, on PyPI).

Registered as ``PROVIDER``. The package ships PP-OCRv4 detection and recognition models for
Chinese and English (``ch_PP-OCRv4_det_infer.onnx``, ``ch_ppocr_mobile_v2.0_cls_infer.onnx``,
``ch_PP-OCRv4_rec_infer.onnx``): the shipped recognizer reads Latin letters, digits and Chinese,
**not Hangul**. ``--rec-model`` (and ``--rec-keys``, the model's character list when the ONNX
file does not carry it) takes another recognizer, e.g. PaddleOCR's Korean PP-OCR model converted
to ONNX; ``--det-model`` another detector. docs/providers.md says where to get them.

Everything runs here (``kind`` local, price 0): each worker process of
:class:`~adapters.providers.engine_pool.EngineProvider` loads the models once and runs one image
at a time with ONNX Runtime limited to the pool's thread budget (one intra-op thread per worker
with the default of one worker per usable CPU), so workers do not fight over cores.

The raw answer keeps what the engine said, JSON-able::

    {"engine": "rapidocr", "version": "1.4.4", "onnxruntime": "1.20.1",
     "models": {"det": {"file": "ch_PP-OCRv4_det_infer.onnx", "sha256": "..."}, "cls": {...},
                "rec": {...}, "keys": null},
     "text_score": 0.5, "width": 640, "height": 240,
     "lines": [{"box": [[40.0, 45.0], [536.0, 45.0], [536.0, 94.0], [40.0, 94.0]],
                "text": "OPEN 24 HOURS", "score": 0.94}, ...]}

``box`` is the detector's quadrilateral (TL, TR, BR, BL, in the pixels of the image after its
EXIF orientation), ``score`` the recognizer's confidence; lines scoring under ``text_score`` are
dropped by the engine itself. :func:`parse` turns lines into ``line`` items.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
from importlib import metadata
from pathlib import Path
from collections.abc import Mapping  # the ABCs: isinstance is 3x faster than with typing's aliases
from typing import Any

from adapters.core.credentials import ProviderConfig
from adapters.core.errors import EngineUnavailable, PermanentError
from adapters.core.pricing import Price
from adapters.core.schema import ImageResult, Item
from adapters.core.system import usable_cpus
from adapters.providers import engine_pool
from adapters.providers.engine_pool import EngineProvider
from adapters.providers.registry import LOCAL, ProviderSpec, Settings
from adapters.providers.response_fields import ResponseFormatError, coordinate, point_pairs

NAME = "rapidocr"
PACKAGE = "rapidocr_onnxruntime"
INSTALL_HINT = "pip install rapidocr_onnxruntime (it is a dependency of this tool: make setup installs it)"
MODEL_OPTIONS = {"det_model": "det", "rec_model": "rec", "rec_keys": "keys"}


def _paths(settings: Settings) -> dict[str, Path | None]:
    """The model files the options name (absolute), None for the package's own."""
    return {role: None if settings.get(option) is None else Path(settings.get(option)).expanduser().resolve()
            for option, role in MODEL_OPTIONS.items()}


def available(settings: Settings = Settings()) -> str | None:
    """None when the engine and the model files it is given are there; otherwise what is missing."""
    for module in (PACKAGE, "onnxruntime"):
        if importlib.util.find_spec(module) is None:
            return f"RapidOCR cannot run: the Python package {module!r} is not installed: {INSTALL_HINT}"
    for option, role in MODEL_OPTIONS.items():
        path = _paths(settings)[role]
        if path is not None and not path.is_file():
            return f"--{option.replace('_', '-')} {path}: no such file"
    return None


@functools.lru_cache(maxsize=16)
def _fingerprint(path: str, size: int, mtime_ns: int) -> dict[str, str]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"file": Path(path).name, "sha256": digest.hexdigest()}


def _describe_file(path: str | Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    stat = Path(path).stat()
    return _fingerprint(str(path), stat.st_size, stat.st_mtime_ns)


def _shipped_models() -> dict[str, str]:
    """The model files the package ships and uses by default (from its own config.yaml)."""
    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH, read_yaml, update_model_path

    config = update_model_path(read_yaml(DEFAULT_CFG_PATH))
    return {"det": config["Det"]["model_path"], "cls": config["Cls"]["model_path"], "rec": config["Rec"]["model_path"]}


class _Loaded:
    """One engine with its models, made once per process and per set of model files."""

    def __init__(self, settings: Settings) -> None:
        problem = available(settings)
        if problem:
            raise EngineUnavailable(problem)
        import cv2
        from rapidocr_onnxruntime import RapidOCR  # heavy: only where an engine runs

        threads = engine_pool.thread_budget()
        cv2.setNumThreads(threads)  # OpenCV's own pool would take every core in every worker
        paths = _paths(settings)
        options: dict[str, Any] = {"intra_op_num_threads": threads, "inter_op_num_threads": 1}
        for role, option in (("det", "det_model_path"), ("rec", "rec_model_path"), ("keys", "rec_keys_path")):
            if paths[role] is not None:
                options[option] = str(paths[role])
        self.ocr = RapidOCR(**options)
        from PIL import Image

        self.ocr(Image.new("RGB", (64, 64), "white"))  # ONNX Runtime's first run is slow: not on an image's clock
        shipped = _shipped_models()
        self.header = {
            "engine": NAME,
            "version": metadata.version(PACKAGE),
            "onnxruntime": metadata.version("onnxruntime"),
            "models": {"det": _describe_file(paths["det"] or shipped["det"]),
                       "cls": _describe_file(shipped["cls"]),
                       "rec": _describe_file(paths["rec"] or shipped["rec"]),
                       "keys": _describe_file(paths["keys"])},
            "text_score": float(self.ocr.text_score),
        }


_loaded: dict[tuple[Any, ...], _Loaded] = {}


def _engine(settings: Settings) -> _Loaded:
    key = (*(str(p) for p in _paths(settings).values()), engine_pool.thread_budget())
    if key not in _loaded:
        _loaded[key] = _Loaded(settings)
    return _loaded[key]


def _image(data: bytes) -> Any:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            return ImageOps.exif_transpose(opened).convert("RGB")
    except UnidentifiedImageError:
        raise PermanentError("not an image in a format Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise PermanentError(f"not a readable image ({exc})") from None


def recognize(data: bytes, settings: Settings = Settings()) -> dict[str, Any]:
    """Detect and read the text lines of one encoded image; its raw answer (see the module doc)."""
    engine = _engine(settings)
    image = _image(data)
    found, _ = engine.ocr(image)
    lines = [{"box": [[float(x), float(y)] for x, y in box], "text": str(text), "score": float(score)}
             for box, text, score in (found or [])]
    return {**engine.header, "width": image.width, "height": image.height, "lines": lines}


def looks_like(raw: Any) -> bool:
    """True for a raw answer made by :func:`recognize`."""
    return isinstance(raw, Mapping) and raw.get("engine") == NAME and isinstance(raw.get("lines"), list)


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def parse(raw: Any) -> ImageResult:
    """One ``line`` item per detected line: its quadrilateral, text and score (clipped to [0, 1])."""
    if not looks_like(raw):
        raise ResponseFormatError("expected a RapidOCR answer: an object with engine 'rapidocr' and a 'lines' list")
    items = []
    for k, line in enumerate(raw["lines"]):
        what = f"lines[{k}]"
        if not isinstance(line, Mapping):
            raise ResponseFormatError(f"{what} is not an object")
        text = line.get("text")
        if not isinstance(text, str):
            raise ResponseFormatError(f"{what}.text is not a string")
        polygon = point_pairs(line.get("box"), f"{what}.box")
        score = coordinate(line.get("score"), f"{what}.score")
        if text.strip():
            items.append(Item(polygon=polygon, text=text.strip(), confidence=min(1.0, max(0.0, score)),
                              granularity="line"))
    return ImageResult.ok(items, width=_size(raw.get("width")), height=_size(raw.get("height")))


class Engine:
    """RapidOCR behind the registry's ``LocalEngine`` protocol (``load`` runs once per worker)."""

    def available(self, settings: Settings) -> str | None:
        return available(settings)

    def load(self, settings: Settings) -> None:
        _engine(settings)

    def recognize(self, data: bytes, settings: Settings, timeout: float | None = None) -> dict[str, Any]:
        # ONNX Runtime cannot be stopped mid-image; the worker pool enforces the time limit.
        return recognize(data, settings)

    def describe(self, settings: Settings) -> str:
        paths = _paths(settings)
        return ", ".join(f"{role} {paths[role].name if paths[role] else 'shipped'}" for role in ("det", "rec", "keys")
                         if paths[role] or role != "keys")

    def facts(self, settings: Settings) -> dict[str, Any]:
        return {option: None if path is None else str(path)
                for option, path in zip(MODEL_OPTIONS, _paths(settings).values())}

    def version(self) -> str | None:
        try:
            return f"{metadata.version(PACKAGE)} (onnxruntime {metadata.version('onnxruntime')})"
        except metadata.PackageNotFoundError:
            return None


ENGINE = Engine()


def make(config: ProviderConfig, settings: Settings) -> EngineProvider:
    """The collecting provider: ``settings.pool_size`` worker processes, each with its own models."""
    return EngineProvider(NAME, ENGINE, settings, parse, processes=settings.pool_size)


PROVIDER = ProviderSpec(
    name=NAME,
    title="RapidOCR",
    kind=LOCAL,
    looks_like=looks_like,
    parse=parse,
    make=make,
    price=Price(
        provider=NAME, unit="local engine", krw_per_1000=0.0, usd_per_1000=0.0, free_quota="n/a",
        source="rapidocr_onnxruntime (Apache-2.0) with PaddleOCR's PP-OCR models (Apache-2.0), runs locally",
        checked="2026-12-02", note="API cost only; CPU time not included",
    ),
    setup_help="none (the rapidocr_onnxruntime package; its shipped recognizer reads no Hangul: see --rec-model)",
    options=tuple(MODEL_OPTIONS),
    option_help={"det_model": "an ONNX text detector instead of the shipped PP-OCRv4 one",
                 "rec_model": "an ONNX recognizer instead of the shipped Chinese/English one (which reads "
                              "no Hangul), e.g. a Korean PP-OCR model",
                 "rec_keys": "the recognizer's character list, one per line (e.g. PaddleOCR's korean_dict.txt), "
                             "when the ONNX file does not carry it"},
    engine=ENGINE,
    default_concurrency=usable_cpus,
    demo=False,
    order=50,
)
