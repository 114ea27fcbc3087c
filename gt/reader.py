"""Read ICDAR-style annotation folders or zips: one ``<stem>.txt`` per image, one word per line.

A line is ``x1, y1, x2, y2, x3, y3, x4, y4, text``; the text is everything after the 8th
comma (``1,000원`` stays whole). The same reader serves ground truth (``gt_<stem>.txt``) and
ICDAR-style predictions (``res_<stem>.txt``), which differ only in that predictions may
omit the text and have no don't-care marker.
"""
from __future__ import annotations

import logging
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from adapters.core.errors import InputError, clip, excerpt, read_error
from adapters.core.schema import MAX_COORDINATE, Point

log = logging.getLogger("bench")

DONT_CARE = "###"
# A word is vertical text when its box is about 1.5 x taller than wide: the AI-Hub conversion
# (strictly taller, as Light-OCR) and the report's orientation split (>=) share the ratio.
VERTICAL_RATIO = 1.5
STEM_PREFIXES = ("gt_", "res_")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# the usual line in one match: 8 numbers as _NUMBER reads them, each followed by a comma (\s is str.strip's
# space), with fewer digits before the point than MAX_COORDINATE has, so each is in range without a check
_SAFE_DIGITS = len(str(int(MAX_COORDINATE))) - 1
_EIGHT_NUMBERS = re.compile(rf"\s*([+-]?(?:\d{{1,{_SAFE_DIGITS}}}(?:\.\d*)?|\.\d+))\s*," * 8)
# only CR / LF end a line: str.splitlines() would also break on U+2028, form feed, etc. inside a text
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# a whole file of usual lines in one pass: at each line start, _EIGHT_NUMBERS and the rest of the line
_USUAL_LINES = re.compile("^" + _EIGHT_NUMBERS.pattern + "(.*)$", re.MULTILINE)
# on POSIX a file name from a folder listing is its own Path(...).name unless it is "."
_POSIX_NAMES = os.sep == "/" and os.altsep is None
# Zip members are checked before they are unpacked: annotation text compresses 2 to 10 times, a
# zip bomb about 1,000 times (a 306 KB zip of 300 MB once took 3.1 GB of memory and 74 s).
MAX_MEMBER_BYTES = 64 << 20  # one annotation file: a dense page of 10,000 words is about 1 MB
MAX_ZIP_RATIO = 100  # unpacked / packed, for a member (or a whole zip) over RATIO_FLOOR unpacked
RATIO_FLOOR = 1 << 20


class GtFormatError(InputError):
    """A malformed annotation line; the message names the file and the line number."""


@dataclass(frozen=True)
class Word:
    """One annotated (or predicted) word: quadrilateral, text and whether it is scored."""

    points: tuple[Point, ...]
    text: str
    care: bool = True
    line: int = 0


@dataclass(frozen=True)
class BadLine:
    """A line that was skipped because of ``--skip-bad-lines``."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}, line {self.line}: {self.reason}"


@dataclass
class Annotations:
    """Every image of a folder or zip, keyed by stem, with the lines that were skipped."""

    images: dict[str, list[Word]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    bad_lines: list[BadLine] = field(default_factory=list)


_ICDAR15_QUOTED = re.compile(r'^\s*"(.*)"\s*$')  # rrc_evaluation_funcs.get_tl_line_values


def icdar15_unquote(text: str) -> str:
    """What the official ICDAR 2015 reader does to every text: a text in double quotes loses them,
    and the backslash-escaped backslashes and quotes inside are unescaped (``--icdar15`` only)."""
    match = _ICDAR15_QUOTED.match(text)
    return match.group(1).replace("\\\\", "\\").replace('\\"', '"') if match else text


def image_stem(file_name: str) -> str:
    """``gt_img_1.txt`` / ``res_img_1.txt`` / ``img_1.txt`` -> ``img_1``."""
    # a bare name is its own base name: no Path (a few microseconds) per file of a big folder
    stem = file_name if _POSIX_NAMES and "/" not in file_name and file_name != "." else Path(file_name).name
    if stem.lower().endswith(".txt"):
        stem = stem[:-4]
    for prefix in STEM_PREFIXES:
        if stem.startswith(prefix) and len(stem) > len(prefix):
            return stem[len(prefix):]
    return stem


def decode_annotation(data: bytes, source: str) -> str:
    """UTF-8 (BOM optional); anything else is tried as CP949, the legacy Korean Windows code page."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: neither UTF-8 nor CP949 text ({exc.reason} at byte {exc.start})") from None
    log.warning("%s: not valid UTF-8, decoded as CP949", source)
    return text


def parse_line(line: str, text_required: bool = True) -> tuple[tuple[Point, ...], str]:
    """Split one annotation line into four points and a text; ``ValueError`` says what is wrong."""
    fast = _EIGHT_NUMBERS.match(line)  # the common case at about half the cost; anything else takes the checks below
    if fast is not None:
        a, b, c, d, e, f, g, h = map(float, fast.groups())
        return ((a, b), (c, d), (e, f), (g, h)), line[fast.end():].strip()
    parts = line.split(",", 8)
    if len(parts) < 8:
        raise ValueError(f"expected 8 coordinates and a text, found {len(parts)} field(s)")
    if len(parts) == 8 and text_required:
        raise ValueError("expected 8 coordinates and a text, found no text")
    numbers = []
    for k, part in enumerate(parts[:8]):
        token = part.strip()
        if not _NUMBER.fullmatch(token):
            raise ValueError(f"coordinate {k + 1} is not a number: {excerpt(token)}")
        if abs(value := float(token)) > MAX_COORDINATE:
            raise ValueError(f"coordinate {k + 1} is out of range: {excerpt(token)}")
        numbers.append(value)
    # An empty text after the 8th comma is a scored word with an empty transcription, as in the
    # ICDAR 2015 scripts (real sets such as kr_docs have a few); only the markers mean don't care.
    text = parts[8].strip() if len(parts) == 9 else ""
    return tuple((numbers[k], numbers[k + 1]) for k in range(0, 8, 2)), text


def parse_annotation_text(
    text: str,
    source: str,
    dont_care: frozenset[str] | None = frozenset({DONT_CARE}),
    skip_bad_lines: bool = False,
    unquote: bool = False,
) -> tuple[list[Word], list[BadLine]]:
    """Parse a whole file's text. ``dont_care=None`` reads predictions (text optional, all scored).

    ``unquote`` (``--icdar15``): a text in double quotes is a marker when its unquoted form is, as
    in the official ICDAR 2015 reader (the text itself is unquoted where texts are compared).
    """
    words: list[Word] = []
    bad: list[BadLine] = []
    markers = None if dont_care is None else {unicodedata.normalize("NFC", m) for m in dont_care}
    usual = _usual_words(text, markers, unquote)
    if usual is not None:
        return usual, bad
    for number, raw in enumerate(_LINE_BREAK.split(text), start=1):
        if not raw.strip():
            continue
        try:
            points, word_text = parse_line(raw, text_required=markers is not None)
        except ValueError as exc:
            if not skip_bad_lines:
                raise GtFormatError(f"{source}, line {number}: {exc}: {excerpt(raw.strip(), 80)}") from None
            bad.append(BadLine(source, number, str(exc)))
            continue
        marker = icdar15_unquote(word_text) if unquote else word_text
        care = markers is None or unicodedata.normalize("NFC", marker) not in markers
        words.append(Word(points, word_text, care, number))
    return words, bad


def _usual_words(text: str, markers: set[str] | None, unquote: bool) -> list[Word] | None:
    """The words of a file whose every line is the usual one, read in one regex pass; None otherwise.

    The line-by-line loop calls ``parse_line`` and builds a ``Word`` per line; here one ``findall``
    reads the whole file. Every match starts at a line start, so as many matches as lines means
    each line matched on its own, exactly as ``_EIGHT_NUMBERS`` matches it (a match running into
    the next line would leave fewer): no blank, short or unusual line, so no check can fail.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # CRLF: the same line numbers; a lone CR takes the loop
        if "\r" in text:
            return None
    rows = _USUAL_LINES.findall(text)
    if not rows or len(rows) != text.count("\n") + (not text.endswith("\n")):
        return None
    normalize, new, set_field, number, words = unicodedata.normalize, object.__new__, object.__setattr__, 0, []
    for a, b, c, d, e, f, g, h, word_text in rows:
        number += 1
        word_text = word_text.strip()
        marker = icdar15_unquote(word_text) if unquote else word_text
        # the fields Word(...) sets, in its order, without its __init__ call: half the cost, the same memory
        # (filling word.__dict__ would be faster still, but it gives each Word a dict of its own: +64 bytes)
        word = new(Word)
        set_field(word, "points", ((float(a), float(b)), (float(c), float(d)), (float(e), float(f)), (float(g), float(h))))
        set_field(word, "text", word_text)
        set_field(word, "care", markers is None or normalize("NFC", marker) not in markers)
        set_field(word, "line", number)
        words.append(word)
    return words


def _folder_txt(source: Path) -> list[Path]:
    """The ``.txt`` paths under a folder, recursively, in path order; an unreadable sub-folder is an error."""

    def unreadable(exc: OSError) -> None:
        raise read_error(exc.filename or source, exc)

    return sorted(Path(folder) / name for folder, _, names in os.walk(source, onerror=unreadable)
                  for name in names if name.lower().endswith(".txt"))


def _folder_txt_named(source: Path) -> list[tuple[str, str]]:
    """``(str(path), path.name)`` of ``_folder_txt``'s paths, in its order, without a Path per file.

    Sorting Paths compares their parts in Python, about 10 times per file; sorting tuples of the
    parts below ``source`` (the parts above are the same for all) gives the same order on POSIX,
    where Paths compare their parts case-sensitively. Elsewhere ``_folder_txt`` itself.
    """
    if not _POSIX_NAMES:
        return [(str(path), path.name) for path in _folder_txt(source)]

    def unreadable(exc: OSError) -> None:
        raise read_error(exc.filename or source, exc)

    top = os.fspath(source)
    below: dict[str, tuple[str, ...]] = {top: ()}  # os.walk joins a sub-folder's path as below
    found = []
    for folder, subfolders, names in os.walk(source, onerror=unreadable):
        parts = below[folder]
        for sub in subfolders:
            below[os.path.join(folder, sub)] = parts + (sub,)
        prefix = str(Path(folder, "_"))[:-1]  # what str(Path(folder) / name) puts before a bare name
        found.extend((parts + (name,), prefix + name, name) for name in names if name.lower().endswith(".txt"))
    found.sort()  # the parts tuples differ for every file, so the strings after them are never compared
    return [(path, name) for _, path, name in found]


def _zip_txt(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [info for info in sorted(archive.infolist(), key=lambda i: i.filename)
            if not info.is_dir() and info.filename.lower().endswith(".txt") and "__MACOSX" not in info.filename]


def annotation_names(source: Path) -> list[str] | None:
    """The file names ``read_annotations`` would read from a folder or zip (None for anything else)."""
    if source.is_dir():
        return [name for _, name in _folder_txt_named(source)]
    if source.is_file() and _is_zip(source):
        try:
            with zipfile.ZipFile(source) as archive:
                return [Path(info.filename).name for info in _zip_txt(archive)]
        except (zipfile.BadZipFile, OSError, ValueError):
            return None  # read_annotations says what is wrong with it
    return None


def _folder_files(source: Path) -> Iterator[tuple[str, str, bytes]]:
    """Every ``.txt`` under a folder, in path order; a sub-folder or file that cannot be read is an error."""
    for path, name in _folder_txt_named(source):
        data = _regular_file_bytes(path)
        if data is None:
            data = _checked_file_bytes(Path(path))
            if data is None:
                continue  # a folder named *.txt
        yield path, name, data


def _checked_file_bytes(path: Path) -> bytes | None:
    """A file's bytes; None for a folder (or anything not a file); a dangling link is an error."""
    if not path.is_file():
        if path.is_symlink() and not path.exists():
            raise InputError(f"{path}: cannot read (a link to a file that does not exist)")
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise read_error(path, exc) from None


def _regular_file_bytes(path: str) -> bytes | None:
    """The bytes of what ``os.stat`` calls a regular file, read without a Path or a buffered file object;
    None when ``stat`` says anything else or fails (``_checked_file_bytes`` then decides). Never opens a
    FIFO or a device: only a regular file is opened."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            chunks = [os.read(handle, status.st_size + 1)]
            while chunks[-1]:
                chunks.append(os.read(handle, 1 << 20))
        finally:
            os.close(handle)
    except OSError as exc:
        raise read_error(path, exc) from None
    return b"".join(chunks)


def check_zip_sizes(source: Path, members: list[zipfile.ZipInfo]) -> None:
    """Refuse, before unpacking anything, members whose unpacked size or ratio is implausible for text."""
    for info in members:
        where, size = f"{source}:{info.filename}", info.file_size
        if size > MAX_MEMBER_BYTES:
            raise InputError(f"{where}: unpacks to {size:,} bytes, more than an annotation file can plausibly be "
                             f"({MAX_MEMBER_BYTES:,}); not unpacked (a zip bomb?)")
        if size > RATIO_FLOOR and size > MAX_ZIP_RATIO * info.compress_size:
            raise InputError(f"{where}: unpacks {info.compress_size:,} bytes into {size:,}, more than "
                             f"{MAX_ZIP_RATIO} times, which text never does; not unpacked (a zip bomb?)")
    total, packed = sum(i.file_size for i in members), source.stat().st_size
    if total > RATIO_FLOOR and total > MAX_ZIP_RATIO * packed:
        raise InputError(f"{source}: its .txt files unpack {packed:,} bytes into {total:,}, more than "
                         f"{MAX_ZIP_RATIO} times, which text never does; not unpacked (a zip bomb?)")


def _zip_files(source: Path) -> Iterator[tuple[str, str, bytes]]:
    """Every ``.txt`` member of a zip, by name; damaged, encrypted or implausibly large members are errors."""
    try:
        archive = zipfile.ZipFile(source)
    except OSError as exc:
        raise read_error(source, exc) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise InputError(f"{source}: a damaged zip file ({clip(str(exc))})") from None
    with archive:
        members = _zip_txt(archive)
        check_zip_sizes(source, members)
        for info in members:
            where = f"{source}:{info.filename}"
            if info.flag_bits & 0x1:
                raise InputError(f"{where}: encrypted (the zip has a password); unzip it and pass the folder, "
                                 "or zip the files again without a password")
            try:
                data = archive.read(info)
            except OSError as exc:
                raise read_error(source, exc) from None
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
                raise InputError(f"{where}: cannot unpack it, the zip is damaged ({clip(str(exc))})") from None
            yield where, info.filename, data


def _annotation_files(source: Path) -> Iterator[tuple[str, str, bytes]]:
    """Yield ``(display name, file name, bytes)`` for every ``.txt`` in a folder (recursively) or a zip."""
    if source.is_dir():
        yield from _folder_files(source)
    elif source.is_file() and _is_zip(source):
        yield from _zip_files(source)
    elif source.exists():
        raise InputError(f"{source}: expected a folder or a .zip of .txt files")
    else:
        raise InputError(f"{source}: no such folder or zip file")


def _is_zip(source: Path) -> bool:
    """``zipfile.is_zipfile``, except that a file that cannot be read is an error naming it (not "not a zip")."""
    try:
        with open(source, "rb"):
            pass
    except OSError as exc:
        raise read_error(source, exc) from None
    return zipfile.is_zipfile(source)


def read_annotations(
    source: Path | str,
    dont_care: Iterable[str] | None = (DONT_CARE,),
    skip_bad_lines: bool = False,
    unquote: bool = False,
) -> Annotations:
    """Read every annotation file of ``source``; two files with the same stem are an error."""
    source = Path(source)
    markers = None if dont_care is None else frozenset(dont_care)
    result = Annotations()
    for name, file_name, data in _annotation_files(source):
        stem = image_stem(file_name)
        if stem in result.sources:
            raise InputError(f"two annotation files for image {stem!r}: {result.sources[stem]} and {name}")
        words, bad = parse_annotation_text(decode_annotation(data, name), name, markers, skip_bad_lines, unquote)
        result.images[stem] = words
        result.sources[stem] = name
        result.bad_lines.extend(bad)
    return result
