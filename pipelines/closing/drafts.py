"""A month's exports folder matches its status: drafts (`invoices/` and `invoice_index.csv`,
replaced as a whole by each run) exist only while the month is open or approved and its last run
succeeded; issued documents (`issued/`, `issued_index.csv`) are never touched here."""

from __future__ import annotations

import os
import shutil
import uuid

from pipelines.invoicing.writer import INDEX_FILE, INVOICES_DIR
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths


def remove_drafts(paths: DataPaths, period: BillingPeriod) -> bool:
    """Take the month's drafts away (a failed run, an issued month); True if there were any.

    The folder is first renamed out of the way in one step, so no reader sees half of it."""
    month_dir = paths.exports(period)
    removed = False
    index = month_dir / INDEX_FILE
    if index.exists():
        index.unlink()
        removed = True
    folder = month_dir / INVOICES_DIR
    if folder.exists():
        retired = paths.inside(month_dir.parent / f".retired-{period}-{uuid.uuid4().hex[:12]}")
        os.rename(folder, retired)
        shutil.rmtree(retired, ignore_errors=True)
        removed = True
    return removed
