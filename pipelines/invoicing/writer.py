"""Write one month's customer invoices into `<data>/exports/<YYYY-MM>/`, all or nothing.

Everything is first written into a staging folder beside the month folders
(`<data>/exports/.staging-<YYYY-MM>-<token>/`), then swapped in: the month's `invoices/`
folder is exchanged in one atomic `renameat2(RENAME_EXCHANGE)` on Linux (two renames
elsewhere), then `invoice_index.csv` is replaced with `os.replace`. A reader sees the old
invoices or the new ones, never a half-written set, and invoices of customers dropped since an
earlier run disappear with the old folder. Other files in the month folder are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import sys
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pipelines.invoicing.azure_detail import UsageDetail
from pipelines.invoicing.csv_export import index_csv
from pipelines.invoicing.model import MonthInvoices
from pipelines.invoicing.rendering import DOCUMENT_KINDS, render_month
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths

INVOICES_DIR = "invoices"
INDEX_FILE = "invoice_index.csv"


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    index_file: Path
    files: tuple[Path, ...]
    customers: int
    invoices: int
    totals: dict[str, dict[str, Decimal]]


def write_month(
    month: MonthInvoices, paths: DataPaths, usage_details: dict[str, UsageDetail] | None = None
) -> ExportResult:
    """Render every customer's CSV, HTML and PDF and swap them in as the month's invoices, with
    the customer's Azure usage detail (CSV, XLSX) beside them when it has one."""
    usage_details = usage_details or {}
    month_dir = paths.exports(month.period)
    exports_root = paths.inside(month_dir.parent)
    exports_root.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(exports_root, month.period)
    token = uuid.uuid4().hex[:12]
    staging = paths.inside(exports_root / f".staging-{month.period}-{token}")
    retired = paths.inside(exports_root / f".retired-{month.period}-{token}")
    try:
        staged_invoices = staging / INVOICES_DIR
        staged_invoices.mkdir(parents=True)
        files_of: dict[str, dict[str, str]] = {}
        written: list[Path] = []
        for customer, rendered in render_month(month, usage_details):
            for name, content in rendered.items():
                _write_durably(paths.inside(staged_invoices / name), content)
                written.append(month_dir / INVOICES_DIR / name)
            files_of[customer.customer_id] = {
                kind: f"{INVOICES_DIR}/{customer.file_stem}.{kind}" for kind in DOCUMENT_KINDS
            }
        _write_durably(staging / INDEX_FILE, index_csv(month, files_of))
        _fsync_dir(staged_invoices)
        _fsync_dir(staging)

        month_dir.mkdir(parents=True, exist_ok=True)
        _swap_in(staged_invoices, month_dir / INVOICES_DIR, retired)
        os.replace(staging / INDEX_FILE, month_dir / INDEX_FILE)
        _fsync_dir(month_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
    return ExportResult(
        folder=month_dir,
        index_file=month_dir / INDEX_FILE,
        files=(*written, month_dir / INDEX_FILE),
        customers=len(month.customers),
        invoices=sum(len(customer.invoices) for customer in month.customers),
        totals=month.totals_by_currency(),
    )


def _remove_leftovers(exports_root: Path, period: BillingPeriod) -> None:
    """Staging folders of an earlier run of the month that was killed half-way."""
    for prefix in (".staging-", ".retired-"):
        for leftover in exports_root.glob(f"{prefix}{period}-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _write_durably(path: Path, content: bytes) -> None:
    with open(path, "xb") as target:
        target.write(content)
        target.flush()
        os.fsync(target.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _swap_in(new: Path, target: Path, retired: Path) -> None:
    """Make `new` the `target` folder; the previous `target` ends up at `retired`."""
    if not target.exists() and not target.is_symlink():
        os.rename(new, target)
        return
    if _exchange(new, target):
        os.rename(new, retired)  # `new` now holds the previous invoices
        return
    os.rename(target, retired)
    try:
        os.rename(new, target)
    except OSError:
        os.rename(retired, target)
        raise


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    return result == 0


def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    library = ctypes.util.find_library("c")
    if not library:
        return None
    try:
        function = ctypes.CDLL(library, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function
