"""Split a ``multipart/form-data`` request body (RFC 7578) held in memory into its parts.

The loopback emulators and ``bench serve`` both receive images this way. The standard library
has no parser any more (``cgi`` is gone in 3.13), and the bodies are already bounded in size by
the time they get here, so a small splitter over bytes is enough. ``require_end`` makes a body
that stops before its closing boundary (a cut-off upload) an error instead of a shorter part.

The body is walked with ``bytes.find`` (no split copies): the only copy made is the data of each
field kept, and a body of many tiny parts stops at ``max_parts`` instead of costing one header
parse per part.
"""
from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value

FORM_DATA = "multipart/form-data"
MAX_PARTS = 64  # a form with an image and a few fields; more is not a client of these APIs
MAX_PART_HEADER = 16 * 1024  # bytes of one part's header block


class MultipartError(ValueError):
    """The body is not well-formed ``multipart/form-data``; the message says what is wrong."""


@dataclass(frozen=True)
class Part:
    """One form field: its name, the file name the client gave (if any), the bytes and declared type."""

    name: str
    filename: str | None
    data: bytes
    content_type: str | None = None


def _header_params(value: str) -> Message:
    message = Message()
    message["content-type"] = value
    return message


def _param(message: Message, name: str) -> str | None:
    value = message.get_param(name, header="content-type")
    if value is None:
        return None
    return collapse_rfc2231_value(value)


def media_type(content_type: str) -> str:
    """``multipart/form-data`` from ``multipart/form-data; boundary=x`` (lower case)."""
    return _header_params(content_type or "").get_content_type()


def parse(body: bytes, content_type: str, require_end: bool = False,
          max_parts: int = MAX_PARTS) -> dict[str, Part]:
    """The parts of a ``multipart/form-data`` body by field name (first part wins)."""
    header = _header_params(content_type)
    if header.get_content_type() != FORM_DATA:
        raise MultipartError(f"expected {FORM_DATA}, got {header.get_content_type()!r}")
    boundary = _param(header, "boundary")
    if not boundary:
        raise MultipartError(f"{FORM_DATA} without a boundary")
    try:  # header bytes arrive as latin-1 text; an RFC 2231 (UTF-8) boundary may not fit
        delimiter = b"--" + boundary.encode("latin-1")
    except UnicodeEncodeError:
        raise MultipartError(f"the boundary {boundary!r} is not ASCII text (RFC 2046)") from None
    separator = b"\r\n" + delimiter
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("multipart body without its boundary")
    parts: dict[str, Part] = {}
    closed = False
    pos, count = start + len(delimiter), 0
    while True:
        if body.startswith(b"--", pos):
            closed = True  # closing delimiter
            break
        count += 1
        if count > max_parts:
            raise MultipartError(f"more than {max_parts} parts")
        end = body.find(separator, pos)
        last = end < 0
        if last:
            end = len(body)
        head_end = body.find(b"\r\n\r\n", pos, end)
        if head_end >= 0:
            if head_end - pos > MAX_PART_HEADER:
                raise MultipartError(f"a part's headers are over {MAX_PART_HEADER:,} bytes")
            _add_part(parts, body[pos:head_end], body, head_end + 4, end)
        if last:
            break
        pos = end + len(separator)
    if require_end and not closed:
        raise MultipartError("the multipart body ends before its closing boundary (a cut-off upload?)")
    return parts


def _add_part(parts: dict[str, Part], head: bytes, body: bytes, start: int, end: int) -> None:
    """Add the part with header block ``head`` and data ``body[start:end]`` unless its name is taken."""
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        key, colon, value = line.partition(":")
        if colon:
            headers[key.strip().lower()] = value.strip()
    disposition = _header_params(headers.get("content-disposition", ""))
    name = _param(disposition, "name")
    if name and name not in parts:
        parts[name] = Part(name, _param(disposition, "filename"), body[start:end], headers.get("content-type"))
