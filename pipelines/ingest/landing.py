"""What a month's landing folder holds, read safely: only regular files inside it, never a link.

A link could point anywhere (/etc/passwd): it is never opened, hashed or followed. Lock and
temporary files that Excel and browsers leave beside the downloads are set aside and said so,
as are folders. Partner Center delivers large files compressed: a .zip of CSVs or a .csv.gz is
opened, streamed into the scratch folder, and each CSV in it is then read like any other file.
An Excel workbook is refused: its numbers and dates went through Excel's locale.

Archives are checked before anything is unpacked (a "ZIP bomb" of a few kilobytes can fill the
disk): a ZIP is refused when the sizes its directory declares add up to more than
MAX_UNPACKED_BYTES, when a member would grow more than MAX_COMPRESSION_RATIO times its packed
size, or when archives are nested deeper than MAX_ARCHIVE_DEPTH. Reconciliation CSVs pack 5 to
10 times (generated months measured), highly repetitive ones a few times more; 200 is far past
any CSV and far below a bomb's 1,000. Unpacking is capped as well, as declared sizes
can lie; a .gz, whose size is known only once unpacked, is streamed under the same caps and
stopped as soon as it passes one.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from pipelines.ingest.errors import IngestError

COPY_CHUNK_BYTES = 4 << 20
ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # Excel 97-2003 workbooks
# What Excel, LibreOffice and browsers leave beside a file being opened or downloaded.
LOCK_FILE_PATTERNS = ("~$*", ".~lock.*")
TEMPORARY_FILE_PATTERNS = ("*.tmp", "*.partial", "*.crdownload", "*.part", "*.download")
# Limits on what one archive may unpack to; see the module's docstring.
MAX_UNPACKED_BYTES = 16 << 30
MAX_COMPRESSION_RATIO = 200
RATIO_CHECKED_FROM_BYTES = 1 << 20  # a small file's ratio says nothing (a header line packs to a few bytes)
MAX_ARCHIVE_DEPTH = 2  # a .csv.gz inside a .zip, no deeper
DOWNLOAD_CSV = "download the file from Partner Center again as CSV (Billing > Invoices > reconciliation file)"
UNPACK_IT = "download the file again from Partner Center, or unpack it yourself and put the CSV files in the folder"


@dataclass(frozen=True)
class LandedFile:
    """A file to read: `path` is the file itself or a CSV unpacked from an archive into the
    scratch folder; `name` is what the clerk sees (`recon.zip/G012.csv` for an archive's CSV)."""

    path: Path
    name: str


@dataclass(frozen=True)
class SetAside:
    """A folder entry that is not read, and why, in a sentence."""

    name: str
    reason: str


@dataclass(frozen=True)
class LandingFolder:
    files: list[LandedFile]
    set_aside: list[SetAside]


def landed_files(landing: Path) -> list[Path]:
    """The regular files of a landing folder, by name; links, folders and hidden files left out.
    Temporary files count: a download still being written keeps the folder unsettled."""
    if not landing.is_dir():
        return []
    return sorted(
        entry
        for entry in landing.iterdir()
        if not entry.name.startswith(".") and not entry.is_symlink() and entry.is_file()
    )


def survey_landing(landing: Path, scratch: Path) -> LandingFolder:
    files: list[LandedFile] = []
    set_aside: list[SetAside] = []
    if not landing.is_dir():
        return LandingFolder(files, set_aside)
    for entry in sorted(landing.iterdir(), key=lambda path: path.name):
        reason = _reason_to_set_aside(entry)
        if reason is None and entry.name.startswith("."):
            continue  # hidden files (.DS_Store, editors' swap files) are nobody's download
        if reason is not None:
            set_aside.append(SetAside(entry.name, reason))
            continue
        files += _openable(entry, entry.name, scratch, set_aside)
    return LandingFolder(files, set_aside)


def _reason_to_set_aside(entry: Path) -> str | None:
    name = entry.name
    if entry.is_symlink():
        return "is a link to another file; links are not followed, so it was not read: copy the file itself into the folder"
    mode = entry.lstat().st_mode
    if stat.S_ISDIR(mode):
        return "is a folder; files in folders are not read: put the month's files directly in the month's folder"
    if any(fnmatch.fnmatch(name, pattern) for pattern in LOCK_FILE_PATTERNS):
        return "is a lock file left while a file is open in Excel or LibreOffice; ignored"
    if any(fnmatch.fnmatch(name.lower(), pattern) for pattern in TEMPORARY_FILE_PATTERNS):
        return "is a temporary or unfinished download; ignored (let the download finish)"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a pipe or device); not read"
    return None


def _magic(path: Path, name: str) -> bytes:
    try:
        with path.open("rb") as source:
            return source.read(4)
    except OSError as error:
        raise IngestError(
            name,
            f"the file cannot be read ({error.strerror or error})",
            "give the pipeline's user permission to read it, or copy it again into the folder",
        ) from None


def _openable(
    path: Path, name: str, scratch: Path, set_aside: list[SetAside], depth: int = 0, allowed: int | None = None
) -> list[LandedFile]:
    """The file itself, or the CSVs inside it when it is an archive (unpacking at most `allowed`
    bytes, MAX_UNPACKED_BYTES for a file of the folder)."""
    allowed = MAX_UNPACKED_BYTES if allowed is None else allowed
    magic = _magic(path, name)
    if magic.startswith(OLE_MAGIC):
        raise IngestError(
            name,
            "this is an Excel 97-2003 workbook (.xls), whose numbers and dates Excel has already converted",
            DOWNLOAD_CSV,
        )
    if (magic.startswith(ZIP_MAGIC) or magic.startswith(GZIP_MAGIC)) and depth >= MAX_ARCHIVE_DEPTH:
        raise IngestError(
            name,
            f"this archive is packed inside {depth} other archives; Partner Center never nests them so deep",
            UNPACK_IT,
        )
    if magic.startswith(ZIP_MAGIC):
        return _unzipped(path, name, scratch, set_aside, depth, allowed)
    if magic.startswith(GZIP_MAGIC):
        return [_gunzipped(path, name, scratch, allowed)]
    return [LandedFile(path, name)]


def _size(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):,.1f} {unit}"
    return f"{count:,} bytes"


NOT_UNPACKED = "it was not unpacked"
STOPPED = "unpacking was stopped there and the part unpacked removed"


def _too_large(what_was_done: str) -> str:
    return f"it unpacks to more than {_size(MAX_UNPACKED_BYTES)}, the most one archive may unpack to ({what_was_done})"


def _too_packed(ratio: int, what_was_done: str) -> str:
    return (
        f"it unpacks to {ratio:,} times its packed size, more than the {MAX_COMPRESSION_RATIO} times a CSV packs to: "
        f"an archive built to fill the disk (a 'ZIP bomb'), not a Partner Center download ({what_was_done})"
    )


def _refuse_bomb(members: list[zipfile.ZipInfo], name: str, allowed: int) -> None:
    """Refuse by the sizes the archive's directory declares, before unpacking any of it."""
    declared = sum(member.file_size for member in members)
    if declared > allowed:
        raise IngestError(name, f"its files add up to {_size(declared)}: {_too_large(NOT_UNPACKED)}", UNPACK_IT)
    for member in members:
        if member.file_size >= RATIO_CHECKED_FROM_BYTES:
            ratio = member.file_size // max(member.compress_size, 1)
            if ratio > MAX_COMPRESSION_RATIO:
                raise IngestError(f"{name}/{member.filename}", _too_packed(ratio, NOT_UNPACKED), UNPACK_IT)


class _CapExceeded(Exception):
    """Unpacking passed a limit: the sentence says which."""


def _copy_capped(source: IO[bytes], sink: IO[bytes], packed_bytes: int, allowed_bytes: int) -> None:
    """Stream source into sink, stopping as soon as it passes the size or the ratio limit."""
    written = 0
    while chunk := source.read(COPY_CHUNK_BYTES):
        written += len(chunk)
        if written > allowed_bytes:
            raise _CapExceeded(_too_large(STOPPED))
        if written >= RATIO_CHECKED_FROM_BYTES and written > MAX_COMPRESSION_RATIO * max(packed_bytes, 1):
            raise _CapExceeded(_too_packed(written // max(packed_bytes, 1), STOPPED))
        sink.write(chunk)


def _scratch_dir(path: Path, scratch: Path) -> Path:
    """A folder per archive, named by its bytes' fingerprint: a re-run reuses it."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(COPY_CHUNK_BYTES):
            digest.update(chunk)
    target = scratch / "unpacked" / digest.hexdigest()
    target.mkdir(parents=True, exist_ok=True)
    return target


def _unzipped(
    path: Path, name: str, scratch: Path, set_aside: list[SetAside], depth: int, allowed: int
) -> list[LandedFile]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [member for member in archive.infolist() if not member.is_dir()]
            if any(member.filename.startswith("xl/") for member in members) and any(
                member.filename == "[Content_Types].xml" for member in members
            ):
                raise IngestError(
                    name,
                    "this is an Excel workbook (.xlsx), whose numbers and dates Excel has already converted",
                    DOWNLOAD_CSV,
                )
            _refuse_bomb(members, name, allowed)
            target = _scratch_dir(path, scratch)
            unpacked: list[LandedFile] = []
            for index, member in enumerate(members, start=1):
                # The member's own path is never used on disk: `../../x` stays a name.
                base = PurePosixPath(member.filename.replace("\\", "/")).name
                shown = f"{name}/{member.filename}"
                if member.flag_bits & 0x1:
                    raise IngestError(
                        shown,
                        "the archive's file is protected by a password",
                        "unpack it yourself and put the CSV in the folder",
                    )
                if not base or any(fnmatch.fnmatch(base, p) for p in LOCK_FILE_PATTERNS + TEMPORARY_FILE_PATTERNS):
                    set_aside.append(SetAside(shown, "is a lock or temporary file inside the archive; ignored"))
                    continue
                destination = target / f"{index}-{base}"
                try:
                    with archive.open(member) as source, destination.open("wb") as sink:
                        _copy_capped(source, sink, member.compress_size, allowed)
                except _CapExceeded as exceeded:
                    destination.unlink(missing_ok=True)
                    raise IngestError(shown, str(exceeded), UNPACK_IT) from None
                allowed -= destination.stat().st_size
                inside = _openable(destination, shown, scratch, set_aside, depth + 1, allowed)
                allowed -= sum(landed.path.stat().st_size for landed in inside if landed.path != destination)
                unpacked += inside
            return unpacked
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise IngestError(
            name, f"the ZIP archive cannot be opened ({error})", "download it again from Partner Center"
        ) from None


def _gunzipped(path: Path, name: str, scratch: Path, allowed: int) -> LandedFile:
    base = name[:-3] if name.lower().endswith(".gz") else f"{name}.csv"
    destination = _scratch_dir(path, scratch) / base
    try:
        with gzip.open(path, "rb") as source, destination.open("wb") as sink:
            _copy_capped(source, sink, path.stat().st_size, allowed)
    except _CapExceeded as exceeded:
        destination.unlink(missing_ok=True)
        raise IngestError(name, str(exceeded), UNPACK_IT) from None
    except (gzip.BadGzipFile, zlib.error, EOFError) as error:
        destination.unlink(missing_ok=True)
        raise IngestError(
            name, f"the compressed (.gz) file cannot be opened ({error})", "download it again from Partner Center"
        ) from None
    return LandedFile(destination, name)
