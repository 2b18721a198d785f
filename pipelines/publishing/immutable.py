"""Files no client can open for writing: mode 0444, and Linux's immutable flag where allowed.

DuckDB's CLI and DBeaver open read-write by default. Mode 0444 makes that open fail for every
ordinary user, the file's owner included; root ignores modes, so the file is also marked
immutable (`chattr +i`) when the process may do so (root, or CAP_LINUX_IMMUTABLE), which even
root's read-write open cannot pass. Without that right the mode alone protects the file.
"""

from __future__ import annotations

import array
import errno
import fcntl
import os
import stat
from pathlib import Path

# linux/fs.h: FS_IOC_GETFLAGS / FS_IOC_SETFLAGS (long-sized argument) and FS_IMMUTABLE_FL.
_GET_FLAGS, _SET_FLAGS, _IMMUTABLE = 0x80086601, 0x40086602, 0x00000010
# The flag cannot be set here: no right to (EPERM), or a file system without it.
_UNSUPPORTED = {errno.EPERM, errno.EACCES, errno.ENOTTY, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS}


READ_ONLY_FILE, READ_ONLY_FOLDER, WRITABLE_FOLDER = 0o444, 0o555, 0o755


def read_only_mode(path: Path) -> None:
    os.chmod(path, READ_ONLY_FILE)


def writable_folder(folder: Path) -> None:
    """Let the publisher add, replace or remove entries of a folder `seal_tree` or `seal_folder` closed."""
    if folder.is_dir() and not folder.is_symlink():
        _set_immutable(folder, False)
        if stat.S_IMODE(folder.stat().st_mode) != WRITABLE_FOLDER:
            os.chmod(folder, WRITABLE_FOLDER)


def seal_folder(folder: Path) -> bool:
    """No entry can be added to, renamed in or removed from `folder` (mode 0555, and immutable
    where allowed: then not even by root); True when the immutable flag holds. Its files stay
    as they are, readable."""
    os.chmod(folder, READ_ONLY_FOLDER)
    return _set_immutable(folder, True)


def seal_tree(root: Path) -> None:
    """Every file under `root` locked, every folder (`root` included) mode 0555: nothing in the
    tree can be changed, added, renamed or removed by an ordinary user."""
    folders = [root, *(path for path in root.rglob("*") if path.is_dir() and not path.is_symlink())]
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            lock(path)
    for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):
        os.chmod(folder, READ_ONLY_FOLDER)


def _flags(fd: int) -> array.array:
    flags = array.array("l", [0])
    fcntl.ioctl(fd, _GET_FLAGS, flags, True)
    return flags


def _set_immutable(path: Path, on: bool) -> bool:
    """True when the flag is now as asked; False when this file system or process cannot."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        flags = _flags(fd)
        wanted = flags[0] | _IMMUTABLE if on else flags[0] & ~_IMMUTABLE
        if wanted != flags[0]:
            fcntl.ioctl(fd, _SET_FLAGS, array.array("l", [wanted]))
        return True
    except OSError as error:
        if error.errno in _UNSUPPORTED:
            return False
        raise
    finally:
        os.close(fd)


def lock(path: Path) -> bool:
    """Make `path` (every name of its inode) unwritable; True when the immutable flag holds too."""
    if is_immutable(path):  # locked already: even its mode cannot change now
        return True
    read_only_mode(path)
    return _set_immutable(path, True)


def unlock(path: Path) -> None:
    """Let the publisher rename over or remove `path` again (it stays mode 0444)."""
    _set_immutable(path, False)


def is_immutable(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        return bool(_flags(fd)[0] & _IMMUTABLE)
    except OSError:
        return False
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    """Remove a file this module locked (missing is fine)."""
    unlock(path)
    path.unlink(missing_ok=True)


def release_tree(root: Path) -> None:
    """Clear the immutable flag under `root` and open its sealed folders, so that it can be
    deleted (`rm -r`, test clean-up)."""
    writable_folder(root)
    for path in root.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            writable_folder(path)
        elif path.is_file() and not path.is_symlink():
            unlock(path)
