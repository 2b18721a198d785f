"""Files written whole or not at all: what a reader (a clerk, a sensor, an analyst) opens is the
previous version or the new one, never half of one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def replaced_whole(path: Path, mode: str = "w", **open_arguments: Any) -> Iterator[IO[Any]]:
    """A file handle whose content replaces `path` when the block ends, in one rename; on an
    error `path` is left as it was. The partial file is hidden (`.name.<id>.partial`), so
    neither the landing folder's reader nor its sensor ever takes it for a download."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with partial.open(mode, **open_arguments) as handle:
            yield handle
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_whole(path: Path, content: str | bytes, encoding: str = "utf-8") -> None:
    """`content` as the file at `path`, replacing any earlier one in one rename."""
    if isinstance(content, bytes):
        with replaced_whole(path, "wb") as handle:
            handle.write(content)
    else:
        with replaced_whole(path, "w", encoding=encoding) as handle:
            handle.write(content)
