"""One streaming pass over a landed file: fingerprint, encoding, line count, header.

Partner Center does not document its encoding, and Excel re-saves files as Windows-1252 or
UTF-16. Anything that is not UTF-8 is transcoded to a UTF-8 copy in the scratch folder, so the
CSV reader never sees mojibake; a file that is none of these is refused.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from pipelines.ingest.errors import IngestError

CHUNK_BYTES = 4 << 20
UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# What a file holding no text at all may still contain: byte order marks, line ends, spaces.
NO_TEXT = b" \t\r\n\x00" + codecs.BOM_UTF8 + codecs.BOM_UTF16_LE
# A multi-byte UTF-8 character: in a file that is not UTF-8 throughout, the sign of mixed encodings.
UTF8_CHARACTER = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass(frozen=True)
class ScannedFile:
    path: Path
    readable_path: Path  # UTF-8 text the CSV reader can open: the file itself or a copy
    sha256: str
    size_bytes: int
    encoding: str
    physical_lines: int
    header: tuple[str, ...]
    delimiter: str = ","  # a tab for Excel's "Unicode text" and "Text (tab delimited)"
    landed_name: str = ""  # the name the clerk landed, when `path` was unpacked from an archive

    @property
    def name(self) -> str:
        return self.landed_name or self.path.name

    @cached_property
    def blank_lines(self) -> tuple[int, ...]:
        """Line numbers of empty lines. Looked for only when the line count says there are
        some, as searching a large file costs more than the read itself."""
        found: list[int] = []
        with self.readable_path.open("rb") as source:
            for number, line in enumerate(source, start=1):
                if not line.strip(b"\r\n"):
                    found.append(number)
        return tuple(found)


class _LineCounter:
    def __init__(self) -> None:
        self.newlines = 0
        self._last = b""

    def feed(self, chunk: bytes) -> None:
        self.newlines += chunk.count(b"\n")
        self._last = chunk[-1:] or self._last

    def physical_lines(self) -> int:
        return self.newlines + (1 if self._last not in (b"", b"\n") else 0)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def scan_file(path: Path, scratch_dir: Path, name: str | None = None) -> ScannedFile:
    """`name` is the file's landed name when `path` is a copy unpacked from an archive."""
    name = name or path.name
    try:
        scanned = _scan(path, scratch_dir, name)
    except OSError as error:
        raise IngestError(
            name,
            f"the file cannot be read ({error.strerror or error})",
            "give the pipeline's user permission to read it, or copy it again into the folder",
        ) from None
    return replace(scanned, landed_name=name)


def _scan(path: Path, scratch_dir: Path, name: str) -> ScannedFile:
    counter = _LineCounter()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    utf8_characters = False  # seen in the part read as UTF-8, or found after it stopped being UTF-8
    size = 0
    first_chunk = b""
    # hashlib releases the GIL: the fingerprint is computed on the other core meanwhile.
    with ThreadPoolExecutor(max_workers=1) as pool, path.open("rb") as source:
        digest = pool.submit(_sha256_of, path)
        while chunk := source.read(CHUNK_BYTES):
            first_chunk = first_chunk or chunk
            size += len(chunk)
            counter.feed(chunk)
            if is_utf8:
                try:
                    utf8.decode(chunk)
                    utf8_characters = utf8_characters or not chunk.isascii()
                except UnicodeDecodeError:
                    is_utf8 = False
                    utf8_characters = utf8_characters or UTF8_CHARACTER.search(chunk) is not None
            elif not utf8_characters:
                utf8_characters = UTF8_CHARACTER.search(chunk) is not None
        sha256 = digest.result()
    if size <= CHUNK_BYTES and not first_chunk.strip(NO_TEXT):
        raise IngestError(name, "the file is empty", "download it again from Partner Center")

    if first_chunk.startswith(UTF16_BOMS) or _looks_utf16(first_chunk):
        return _transcoded(path, scratch_dir, sha256, size, "utf-16", name)
    if is_utf8:
        encoding = "utf-8-sig" if first_chunk.startswith(UTF8_BOM) else "utf-8"
        text = first_chunk.decode(encoding, errors="replace")
        return ScannedFile(
            path=path,
            readable_path=path,
            sha256=sha256,
            size_bytes=size,
            encoding=encoding,
            physical_lines=counter.physical_lines(),
            header=_header(text),
            delimiter=_delimiter(text),
        )
    if utf8_characters:
        # Read as Windows-1252, its UTF-8 letters would turn to mojibake (é -> Ã©); as UTF-8 it cannot be read.
        raise IngestError(
            name,
            "the file mixes UTF-8 text with another encoding, so its accented letters cannot all be read",
            "save it again as 'CSV UTF-8' or download it again from Partner Center",
        )
    return _transcoded(path, scratch_dir, sha256, size, "windows-1252", name)


def _looks_utf16(chunk: bytes) -> bool:
    """UTF-16 without a BOM: ASCII text with a NUL byte beside every character."""
    sample = chunk[:4096]
    return len(sample) >= 8 and sample.count(0) > len(sample) // 3


def _transcoded(path: Path, scratch_dir: Path, sha256: str, size: int, encoding: str, name: str) -> ScannedFile:
    scratch_dir.mkdir(parents=True, exist_ok=True)
    target = scratch_dir / f"{sha256}.utf8.csv"
    counter = _LineCounter()
    header = ""
    try:
        with path.open("r", encoding=encoding, newline="") as source, target.open("wb") as sink:
            while text := source.read(CHUNK_BYTES):
                if not header:
                    text = text.lstrip("\ufeff")
                    header = text
                encoded = text.encode("utf-8")
                counter.feed(encoded)
                sink.write(encoded)
    except UnicodeError as error:
        target.unlink(missing_ok=True)
        raise IngestError(
            name,
            f"the file is neither UTF-8 nor {encoding} text (unreadable byte at position {getattr(error, 'start', '?')})",
            "save it again as 'CSV UTF-8' or download it again from Partner Center",
        ) from None
    return ScannedFile(
        path=path,
        readable_path=target,
        sha256=sha256,
        size_bytes=size,
        encoding=encoding,
        physical_lines=counter.physical_lines(),
        header=_header(header),
        delimiter=_delimiter(header),
    )


def _first_line(text: str) -> str:
    return text.lstrip("\ufeff").partition("\n")[0].rstrip("\r") if text.strip() else ""


def _delimiter(text: str) -> str:
    """A tab when it, not a comma, separates the header's names (Excel's tab-separated saves)."""
    first_line = _first_line(text)
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def _header(text: str) -> tuple[str, ...]:
    return tuple(next(csv.reader(io.StringIO(_first_line(text)), delimiter=_delimiter(text)), []))
