"""Where an emulator's answers come from: ground truth, recorded real bodies, or a local engine.

Each source answers one received image (keyed by its stem) with items that the emulated
provider's ``success`` renders in its own shape, or with a recorded body sent byte for byte.
:func:`choose_answers` is the choice ``bench emulate`` offers (exactly one source).

Some wires carry no file name (Cloud Vision, Azure, OpenAI-compatible chat: only the bytes).
Given the folder of the original images, a source recognises a received image by its content
(:class:`ImageIndex`): the SHA-256 of the file bytes (the collector sends most files untouched),
then the SHA-256 of the upright pixels (an EXIF rotation or a format change re-encoded without
loss), then the upright size when exactly one original has it. An image the collector resized
or re-encoded lossily (a size limit, a rotated JPEG) with a size other originals share is not
recognised: it gets the empty answer, and a warning is logged.
"""
from __future__ import annotations

import hashlib
import io
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from adapters.core.errors import EngineUnavailable, InputError
from adapters.core.images import IMAGE_NAME_SUFFIXES, oriented_size
from adapters.core.schema import Item
from adapters.providers.registry import ProviderSpec, Settings
from gt.reader import read_annotations

log = logging.getLogger("bench.emulator")


@dataclass(frozen=True)
class ReceivedImage:
    """The image of one request: name as sent, the stem answers are keyed by, bytes and size."""

    name: str
    stem: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Answer:
    """Items to render in the provider's shape, or a recorded body to send byte for byte."""

    items: tuple[Item, ...] = ()
    verbatim: bytes | None = None


class Answers(Protocol):
    """A source of answers, keyed by image stem; an unknown stem gets an empty answer.

    ``identify(data)`` names the stem of an image received without a name (None: not known).
    """

    def answer(self, image: ReceivedImage) -> Answer: ...

    def describe(self) -> str: ...

    def identify(self, data: bytes) -> str | None: ...


def _index_images(images_dir: Path) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for path in sorted(images_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_NAME_SUFFIXES:
            if path.stem in index:
                raise InputError(f"two images with the stem {path.stem!r}: {index[path.stem]} and {path}")
            index[path.stem] = path
    return index


def _upright(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        return ImageOps.exif_transpose(img)  # a copy, decoded


def _pixels_sha256(image: Image.Image) -> str:
    digest = hashlib.sha256(f"{image.mode} {image.width}x{image.height} ".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


class ImageIndex:
    """The original images of a folder, by stem: their upright sizes, and which one a received
    image is (see the module docstring for the rules and their limit)."""

    def __init__(self, images_dir: Path | str) -> None:
        self.images_dir = Path(images_dir)
        if not self.images_dir.is_dir():
            raise InputError(f"{self.images_dir}: no such folder of images")
        self.paths = _index_images(self.images_dir)
        self._lock = threading.Lock()
        self._sizes: dict[str, tuple[int, int] | None] = {}
        self._by_bytes: dict[str, str] | None = None
        self._by_pixels: dict[str, str] | None = None

    def size(self, stem: str) -> tuple[int, int] | None:
        """Width and height of the original ``stem`` as displayed (EXIF orientation applied)."""
        path = self.paths.get(stem)
        if path is None:
            return None
        with self._lock:
            if stem not in self._sizes:
                try:
                    with Image.open(path) as img:
                        self._sizes[stem] = oriented_size(img)
                except (OSError, UnidentifiedImageError) as exc:
                    log.warning("%s: cannot read the original image (%s)", path, exc)
                    self._sizes[stem] = None
            return self._sizes[stem]

    def _bytes_index(self) -> dict[str, str]:
        with self._lock:
            if self._by_bytes is None:
                self._by_bytes = {hashlib.sha256(path.read_bytes()).hexdigest(): stem
                                  for stem, path in self.paths.items()}
            return self._by_bytes

    def _pixels_index(self) -> dict[str, str]:
        with self._lock:
            if self._by_pixels is None:  # decoded once, on the first image not found by its bytes
                found = {}
                for stem, path in self.paths.items():
                    try:
                        found[_pixels_sha256(_upright(path.read_bytes()))] = stem
                    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
                        log.warning("%s: cannot read the original image (%s)", path, exc)
                self._by_pixels = found
            return self._by_pixels

    def identify(self, data: bytes) -> str | None:
        """The stem of the original that ``data`` is, None when none can be told apart."""
        stem = self._bytes_index().get(hashlib.sha256(data).hexdigest())
        if stem is not None:
            return stem
        try:
            received = _upright(data)
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError):
            return None
        stem = self._pixels_index().get(_pixels_sha256(received))
        if stem is not None:
            return stem
        same_size = [name for name in self.paths if self.size(name) == received.size]
        if len(same_size) == 1:
            return same_size[0]
        log.warning("a received %dx%d image matches no original in %s by content%s; it gets the empty answer",
                    received.width, received.height, self.images_dir,
                    f" ({len(same_size)} share its size)" if same_size else "")
        return None


class GtAnswers:
    """Answers from ``<gt_dir>/<stem>.txt`` (``gt_`` prefix allowed); ``###`` words left out.

    With ``images_dir``, boxes are scaled from the original image's size (EXIF orientation
    applied) to the size of the image received, as the real services answer in the sent scale,
    and images received without a name are recognised by content (:class:`ImageIndex`).
    """

    def __init__(self, gt_dir: Path | str, images_dir: Path | str | None = None) -> None:
        self.gt_dir = Path(gt_dir)
        annotations = read_annotations(self.gt_dir)
        self._items = {
            stem: tuple(Item(polygon=w.points, text=w.text) for w in words if w.care)
            for stem, words in annotations.images.items()
        }
        self.images_dir = None if images_dir is None else Path(images_dir)
        self._index = None if self.images_dir is None else ImageIndex(self.images_dir)

    def describe(self) -> str:
        scaled = f", boxes scaled to the images in {self.images_dir}" if self.images_dir else ""
        return f"ground truth of {len(self._items)} images from {self.gt_dir}{scaled}"

    def identify(self, data: bytes) -> str | None:
        return None if self._index is None else self._index.identify(data)

    def answer(self, image: ReceivedImage) -> Answer:
        items = self._items.get(image.stem, ())
        size = None if self._index is None else self._index.size(image.stem)
        if not items or size is None or size == (image.width, image.height):
            return Answer(items=items)
        sx, sy = image.width / size[0], image.height / size[1]
        return Answer(items=tuple(
            Item(polygon=tuple((x * sx, y * sy) for x, y in item.polygon) if item.polygon else None,
                 text=item.text, confidence=item.confidence, granularity=item.granularity)
            for item in items))


class RecordedAnswers:
    """Serves ``<dir>/<stem>.json`` byte for byte: real recorded provider bodies. With
    ``images_dir``, images received without a name are recognised by content."""

    def __init__(self, directory: Path | str, images_dir: Path | str | None = None) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise InputError(f"{self.directory}: no such folder of recorded responses")
        self._root = self.directory.resolve()
        self._index = None if images_dir is None else ImageIndex(images_dir)

    def describe(self) -> str:
        return f"recorded responses from {self.directory}"

    def identify(self, data: bytes) -> str | None:
        return None if self._index is None else self._index.identify(data)

    def answer(self, image: ReceivedImage) -> Answer:
        if not image.stem:
            return Answer()
        path = (self.directory / f"{image.stem}.json").resolve()
        if path.parent != self._root or not path.is_file():  # unknown, or a name escaping the folder
            return Answer()
        return Answer(verbatim=path.read_bytes())


class EngineAnswers:
    """Runs a provider's local engine (e.g. Tesseract) on the bytes received."""

    def __init__(self, spec: ProviderSpec, settings: Settings = Settings()) -> None:
        if spec.engine is None:
            raise InputError(f"{spec.name} has no local engine to answer with")
        self.spec, self.settings = spec, spec.settings(settings)
        problem = spec.engine.available(self.settings)
        if problem:
            raise EngineUnavailable(problem)

    def describe(self) -> str:
        assert self.spec.engine is not None
        return f"the local {self.spec.title} engine ({self.spec.engine.describe(self.settings)})"

    def identify(self, data: bytes) -> str | None:
        return None  # the engine reads the bytes themselves; no name is needed

    def answer(self, image: ReceivedImage) -> Answer:
        assert self.spec.engine is not None
        raw = self.spec.engine.recognize(image.data, self.settings)
        return Answer(items=self.spec.parse(raw).items)


def check_sources(gt: Path | None = None, images: Path | None = None, recorded: Path | None = None,
                  use_engine: bool = False) -> None:
    """Exactly one answer source, and ``images`` only with ``gt`` or ``recorded``; anything else is
    an input error."""
    if sum(bool(source) for source in (gt, recorded, use_engine)) > 1:
        raise InputError("choose one answer source: --gt DIR, --recorded DIR or --engine")
    if images is not None and gt is None and recorded is None:
        raise InputError("--images only applies with --gt (it scales ground-truth boxes) or --recorded "
                         "(it recognises images sent without a name)")


def choose_answers(gt: Path | None = None, images: Path | None = None, recorded: Path | None = None,
                   use_engine: bool = False, engine: ProviderSpec | None = None,
                   settings: Settings = Settings()) -> Answers:
    """The one answer source asked for: ``gt`` (boxes scaled to ``images`` when given),
    ``recorded`` or, by default, the local ``engine`` run with ``settings``; ``images`` also lets
    the first two recognise images sent without a name."""
    check_sources(gt, images, recorded, use_engine)
    if gt is not None:
        return GtAnswers(gt, images)
    if recorded is not None:
        return RecordedAnswers(recorded, images)
    if engine is None:
        raise InputError("no local engine to answer with: give --gt DIR or --recorded DIR")
    return EngineAnswers(engine, settings)
