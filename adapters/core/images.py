"""Find the images to collect and turn each into the exact bytes a provider receives.

The stem is the key everywhere (results, journal, gt), so two files with one stem are an
error rather than a silent overwrite. EXIF orientation is applied before sending because
providers disagree on whether they honour it, and ground truth is drawn on the upright
image. Bytes are re-encoded only when needed (rotation, a format the provider refuses,
a size limit), so most images go out untouched.
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from PIL import Image, ImageOps

from adapters.core.errors import InputError, read_error

# Files ``discover`` collects. A name with one of these (or ``.gif``, which old results keys may
# carry but which is never collected) ends in an image suffix that the stem rule drops.
COLLECTABLE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
IMAGE_NAME_SUFFIXES = COLLECTABLE_SUFFIXES | {".gif"}
IMAGE_SUFFIXES = COLLECTABLE_SUFFIXES  # the older name, still imported by gt/
_PIL_FORMATS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "TIFF": "tiff", "BMP": "bmp", "WEBP": "webp"}
MIME_TYPES = {"jpg": "image/jpeg", "png": "image/png", "tiff": "image/tiff", "bmp": "image/bmp", "webp": "image/webp"}
_SUFFIX_OF = {"jpg": ".jpg", "png": ".png", "tiff": ".tiff", "bmp": ".bmp", "webp": ".webp"}
EXIF_ORIENTATION = 0x0112
_TURNED_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height
_JPEG_QUALITIES = (92, 85, 75, 65, 50)

# Scanned pages are large, so Pillow's limit is raised; past twice this, Pillow raises
# DecompressionBombError, which prepare() reports as an unreadable image like any other.
Image.MAX_IMAGE_PIXELS = 200_000_000


@dataclass(frozen=True)
class ImageFile:
    """One image on disk and the key its results are stored under."""

    key: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def identity(self) -> dict[str, Any]:
        """Size, modification time and SHA-256 of the file: what a stored answer was an answer to."""
        stat = self.path.stat()
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": file_sha256(self.path)}

    def unchanged_since(self, identity: Mapping[str, Any] | None) -> bool:
        """True when the file is the one ``identity`` describes (records without one are trusted).

        Size and time decide cheaply; when they differ, the content decides, so a file rewritten
        with the same bytes (e.g. ``bench synth --overwrite``) is still reused.
        """
        if not identity or "sha256" not in identity:
            return True
        stat = self.path.stat()
        if stat.st_size != identity.get("size"):
            return False
        if stat.st_mtime_ns == identity.get("mtime_ns"):
            return True
        return file_sha256(self.path) == identity["sha256"]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ImagePolicy:
    """What a provider accepts: formats sent as-is, and limits that force a resize or re-encode."""

    formats: frozenset[str] = frozenset(_SUFFIX_OF)
    max_side: int | None = None
    max_bytes: int | None = None


@dataclass(frozen=True)
class PreparedImage:
    """The bytes actually sent, with the sent and original (upright) sizes to map boxes back."""

    key: str
    file_name: str
    format: str
    data: bytes = field(repr=False)
    width: int
    height: int
    original_width: int
    original_height: int

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.format]

    @property
    def scale(self) -> tuple[float, float]:
        """Factors that take sent-image coordinates back to the original upright image."""
        return self.original_width / self.width, self.original_height / self.height

    @property
    def resized(self) -> bool:
        return (self.width, self.height) != (self.original_width, self.original_height)


def image_stem(name: str) -> str:
    """The key of an image named ``name``: its base name without an image suffix.

    Old scripts keyed results by stem or by file name, and clients send file names (possibly
    with Windows folders); all mean the stem. Only image suffixes are dropped, so ``scan.v2``
    stays ``scan.v2``.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    return stem if dot and f".{suffix.lower()}" in IMAGE_NAME_SUFFIXES and stem else base


def needs_rotation(image: Image.Image) -> bool:
    """True when the EXIF orientation says the pixels are stored turned or mirrored."""
    return image.getexif().get(EXIF_ORIENTATION, 1) not in (1, None)


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as displayed, i.e. after the EXIF orientation is applied (nothing decoded)."""
    turned = image.getexif().get(EXIF_ORIENTATION, 1) in _TURNED_ORIENTATIONS
    return (image.height, image.width) if turned else image.size


def _files_under(root: Path) -> list[Path]:
    """Every file under ``root`` (links to folders not followed, as rglob); an unreadable folder is an error."""

    def unreadable(exc: OSError) -> None:  # rglob skipped it silently: its images vanished
        raise read_error(exc.filename or root, exc)

    return [Path(folder) / name for folder, _, names in os.walk(root, onerror=unreadable) for name in names]


def discover(root: Path | str) -> list[ImageFile]:
    """Every image under ``root`` (recursively), sorted by key; duplicate stems name both files."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder" if not root.exists() else f"{root}: not a folder")
    found: dict[str, ImageFile] = {}
    for path in sorted(_files_under(root)):
        if path.suffix.lower() not in COLLECTABLE_SUFFIXES or not path.is_file():
            continue
        key = path.stem
        if key in found:
            raise InputError(f"two images with the stem {key!r}: {found[key].path} and {path}; "
                             f"results are keyed by stem, so rename one")
        found[key] = ImageFile(key, path)
    if not found:
        raise InputError(f"{root}: no images found (looked for {', '.join(sorted(COLLECTABLE_SUFFIXES))}, recursively)")
    return [found[key] for key in sorted(found)]


def _encode(image: Image.Image, fmt: str, quality: int = _JPEG_QUALITIES[0]) -> bytes:
    buffer = io.BytesIO()
    if fmt == "jpg":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=quality)
    elif fmt == "png":
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            image = image.convert("RGB")
        image.save(buffer, "PNG", optimize=False)
    else:
        image.save(buffer, {"tiff": "TIFF", "bmp": "BMP", "webp": "WEBP"}[fmt])
    return buffer.getvalue()


def _target_format(source: str, policy: ImagePolicy) -> str:
    if source in policy.formats:
        return source
    return "png" if "png" in policy.formats else "jpg"


def _fit(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    if max_side is None or max(width, height) <= max_side:
        return width, height
    ratio = max_side / max(width, height)
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _shrink_to_bytes(image: Image.Image, fmt: str, max_bytes: int) -> tuple[bytes, str, Image.Image]:
    """Lower JPEG quality first, then the resolution, until the file fits."""
    for quality in _JPEG_QUALITIES:
        data = _encode(image, "jpg", quality)
        if len(data) <= max_bytes:
            return data, "jpg", image
    while True:
        width, height = image.size
        if max(width, height) <= 64:
            raise InputError(f"cannot bring the image under {max_bytes} bytes")
        image = image.resize((max(1, int(width * 0.8)), max(1, int(height * 0.8))), Image.Resampling.LANCZOS)
        data = _encode(image, "jpg", _JPEG_QUALITIES[-1])
        if len(data) <= max_bytes:
            return data, "jpg", image


def prepare(image: ImageFile, policy: ImagePolicy = ImagePolicy()) -> PreparedImage:
    """Read, apply EXIF orientation, and resize / re-encode only if ``policy`` demands it.

    An unreadable file raises :class:`InputError` naming it; the collector records that image
    as failed without sending anything.
    """
    try:
        data = image.path.read_bytes()
        with Image.open(io.BytesIO(data)) as opened:
            source = _PIL_FORMATS.get(opened.format or "")
            if source is None:
                raise InputError(f"{image.path}: unsupported image format {opened.format!r}")
            upright = ImageOps.exif_transpose(opened) if needs_rotation(opened) else opened
            original = upright.size
            size = _fit(*original, policy.max_side)
            too_big = policy.max_bytes is not None and len(data) > policy.max_bytes
            if upright is opened and size == original and source in policy.formats and not too_big:
                fmt, sent = source, data
            else:
                work = upright if size == original else upright.resize(size, Image.Resampling.LANCZOS)
                fmt = _target_format(source, policy)
                sent = _encode(work, fmt)
                if policy.max_bytes is not None and len(sent) > policy.max_bytes:
                    sent, fmt, work = _shrink_to_bytes(work, fmt, policy.max_bytes)
                size = work.size
    except InputError as exc:
        message = str(exc)
        raise InputError(message if str(image.path) in message else f"{image.path}: {message}") from None
    except Exception as exc:  # noqa: BLE001 - Pillow's decoders raise many types on bad files
        # (OSError, ValueError, SyntaxError, DecompressionBombError, struct.error, ...): each
        # must cost this image only, so all become an InputError that names the file.
        raise InputError(f"{image.path}: cannot read the image ({type(exc).__name__}: {exc})") from None
    file_name = image.path.name if fmt == source else image.key + _SUFFIX_OF[fmt]
    return PreparedImage(image.key, file_name, fmt, sent, size[0], size[1], original[0], original[1])
