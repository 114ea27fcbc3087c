"""Split a ``multipart/form-data`` request body (RFC 7578) held in memory into its parts.

The loopback emulators and ``bench serve`` both receive images this way. The standard library
has no parser any more (``cgi`` is gone in 3.13), and the bodies are already bounded in size by
the time they get here, so a small splitter over bytes is enough. ``require_end`` makes a body
that stops before its closing boundary (a cut-off upload) an error instead of a shorter part.
"""
from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value

FORM_DATA = "multipart/form-data"


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


def parse(body: bytes, content_type: str, require_end: bool = False) -> dict[str, Part]:
    """The parts of a ``multipart/form-data`` body by field name (first part wins)."""
    header = _header_params(content_type)
    if header.get_content_type() != FORM_DATA:
        raise MultipartError(f"expected {FORM_DATA}, got {header.get_content_type()!r}")
    boundary = _param(header, "boundary")
    if not boundary:
        raise MultipartError(f"{FORM_DATA} without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("multipart body without its boundary")
    parts: dict[str, Part] = {}
    closed = False
    for chunk in body[start + len(delimiter):].split(b"\r\n" + delimiter):
        if chunk.startswith(b"--"):
            closed = True  # closing delimiter
            break
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = _param(disposition, "name")
        if name and name not in parts:
            parts[name] = Part(name, _param(disposition, "filename"), data, headers.get("content-type"))
    if require_end and not closed:
        raise MultipartError("the multipart body ends before its closing boundary (a cut-off upload?)")
    return parts
