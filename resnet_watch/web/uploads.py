"""Browser uploads into the inbox, streamed, sniffed and renamed into place atomically.

The multipart body is parsed as it arrives (python-multipart's streaming parser): each
file goes straight into a temp file in the inbox named with the sidecar module's
``TEMP_PREFIX`` (the watcher ignores those), the byte count is checked on every chunk, and
a request over the limit is refused with 413 the moment it crosses it, temp files removed.
Only when the whole request is good is each file sniffed (by content, never by name),
given a safe name and moved into place with ``os.replace``, which is the atomic event the
watcher acts on, exactly as for any other writer.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header

from resnet_watch.imaging import SNIFF_BYTES, sniff_format
from resnet_watch.imaging.sniff import TIFF_RAW_SUFFIXES
from resnet_watch.pathfilter import PathFilter
from resnet_watch.sidecar import TEMP_PREFIX

__all__ = ["UploadError", "UploadedFile", "receive_upload", "safe_name"]

EXTENSIONS = {
    "JPEG": (".jpg", ".jpeg", ".jpe"),
    "PNG": (".png",),
    "WEBP": (".webp",),
    "GIF": (".gif",),
    "BMP": (".bmp",),
    # TIFF-based camera RAWs keep their names: the name tells LibRaw which camera's it is
    "TIFF": (".tif", ".tiff", ".dng", ".cr2", *sorted(f".{s}" for s in TIFF_RAW_SUFFIXES)),
    "HEIF": (".heic", ".heif"),
    "RAW": (".cr3", ".raf", ".orf", ".rw2"),
}
MAX_FILES = 100
MAX_FIELD_BYTES = 4096
NAME_BYTES = 180  # leaves room for " (123)" and the sidecar suffix under NAME_MAX
_UNSAFE = re.compile(r"[^\w .,()+@&'-]+", re.UNICODE)
_name_lock = threading.Lock()
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class UploadError(Exception):
    """An upload refused as a whole; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class UploadedFile:
    path: Path  # where it landed in the inbox
    original_name: str
    format: str
    size: int


def safe_name(raw: str, fmt: str, accept: Callable[[str], bool] | None = None) -> str:
    """A plain file name for an upload called ``raw`` whose content is ``fmt``.

    Directory parts (either slash) are dropped, control and shell-special characters
    replaced, leading dots and tildes removed (hidden and temp names are ignored by the
    watcher), the extension made to match the content, the length bounded. ``accept``
    (the watcher's filter) gets the last word: a name it would skip becomes ``upload``.
    """
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").split("/")[-1])
    name = "".join(c if c.isprintable() else "_" for c in name)
    name = _UNSAFE.sub("_", name).strip().lstrip(".~ ").rstrip(". ")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    wanted = EXTENSIONS.get(fmt, (".img",))
    if f".{ext.lower()}" not in wanted:
        stem, ext = name, wanted[0][1:]
    stem = stem or "upload"
    while len(stem.encode()) > NAME_BYTES:
        stem = stem[:-1]
    candidate = f"{stem}.{ext}"
    if accept is not None and not accept(candidate):
        candidate = f"upload.{wanted[0][1:]}"
    return candidate


def _free_name(folder: Path, name: str) -> Path:
    stem, dot, ext = name.rpartition(".")
    n = 0
    while True:
        target = folder / (name if n == 0 else f"{stem} ({n}){dot}{ext}")
        if not os.path.lexists(target):
            return target
        n += 1


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    temp: str | None = None
    fh: IO[bytes] | None = None
    head: bytes = b""
    size: int = 0
    value: bytes = b""


@dataclass
class _State:
    folder: Path
    parts: list[_Part] = field(default_factory=list)
    current: _Part | None = None
    header_field: bytes = b""
    header_value: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    error: UploadError | None = None

    def cleanup(self) -> None:
        for part in self.parts:
            if part.fh is not None:
                with contextlib.suppress(OSError):
                    part.fh.close()
            if part.temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(part.temp)
                part.temp = None


def _callbacks(state: _State) -> dict[str, Any]:
    def on_part_begin() -> None:
        state.current = _Part()
        state.headers = {}
        state.parts.append(state.current)
        if len(state.parts) > MAX_FILES * 2:
            raise UploadError(413, f"too many parts (at most {MAX_FILES} files per upload)")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        state.headers[state.header_field.strip().lower()] = state.header_value.strip()
        state.header_field = state.header_value = b""

    def on_headers_finished() -> None:
        part = state.current
        assert part is not None
        _disp, options = parse_options_header(state.headers.get(b"content-disposition", b""))
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            part.filename = options[b"filename"].decode("utf-8", "replace")
            fd, part.temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=state.folder)
            part.fh = os.fdopen(fd, "wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = state.current
        assert part is not None
        chunk = data[start:end]
        part.size += len(chunk)
        if part.fh is None:
            part.value += chunk
            if len(part.value) > MAX_FIELD_BYTES:
                raise UploadError(413, f"form field {part.name!r} is too long")
            return
        if len(part.head) < SNIFF_BYTES:
            part.head += chunk[: SNIFF_BYTES - len(part.head)]
        part.fh.write(chunk)

    def on_part_end() -> None:
        part = state.current
        if part is not None and part.fh is not None:
            part.fh.flush()
            os.fsync(part.fh.fileno())
            part.fh.close()
            part.fh = None

    return {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }


async def receive_upload(
    headers: Any,
    body: AsyncIterator[bytes],
    folder: Path,
    max_bytes: int,
    *,
    check_fields: Callable[[dict[str, str]], None] | None = None,
    accept_name: Callable[[str], bool] | None = None,
) -> list[UploadedFile]:
    """Stream a multipart/form-data body into ``folder``; all files land or none do.

    ``check_fields`` sees the plain form fields (e.g. the CSRF token) before anything is
    moved into place and may raise ``UploadError``. Raises ``UploadError`` with 400, 413
    or 415 and leaves nothing behind.
    """
    ctype, params = parse_options_header(headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadError(400, "expected a multipart/form-data upload (a form with files)")
    length = headers.get("content-length")
    limit_text = f"{max_bytes // (1024 * 1024)} MiB" if max_bytes >= 1 << 20 else f"{max_bytes} B"
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise UploadError(413, f"upload too large: the limit is {limit_text}")
    state = _State(folder)
    parser = MultipartParser(boundary, _callbacks(state))  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > max_bytes:
                raise UploadError(413, f"upload too large: the limit is {limit_text}")
            parser.write(chunk)
        parser.finalize()
        fields = {p.name: p.value.decode("utf-8", "replace") for p in state.parts if p.fh is None}
        if check_fields is not None:
            check_fields(fields)
        files = [p for p in state.parts if p.temp is not None and (p.filename or p.size)]
        if not files:
            raise UploadError(400, "no file in the upload: choose one or more photos")
        found: list[tuple[_Part, str]] = []
        for part in files:
            fmt = sniff_format(part.head)
            if fmt is None:
                shown = safe_name(part.filename or "file", "", None).rsplit(".", 1)[0]
                raise UploadError(
                    415,
                    f"{shown!r} is not a photo resnet-watch can read "
                    "(JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC or camera RAW, judged by its content)",
                )
            found.append((part, fmt))
        landed = []
        with _name_lock:
            for part, fmt in found:
                assert part.temp is not None
                target = _free_name(folder, safe_name(part.filename or "", fmt, accept_name))
                os.chmod(part.temp, 0o644 & ~_UMASK)
                os.replace(part.temp, target)
                part.temp = None
                landed.append(UploadedFile(target, part.filename or "", fmt, part.size))
        return landed
    except UploadError:
        raise
    except OSError as exc:
        raise UploadError(507, f"cannot save the upload: {exc.strerror or exc}") from None
    except Exception as exc:  # malformed multipart
        raise UploadError(400, f"malformed upload: {exc}") from None
    finally:
        state.cleanup()


def watcher_filter(include: tuple[str, ...], ignore: tuple[str, ...], suffix: str) -> PathFilter:
    return PathFilter(include=include, ignore=ignore, sidecar_suffixes=(suffix, ".xmp"))
