"""Load one month of landed files into `raw.*`, all or nothing.

Every file is read into temporary tables first; only when all of them have been read and
checked does one transaction replace the month's rows. Any failure before COMMIT (a bad
file, a crash, a killed process) leaves the month's previous data exactly as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from pipelines.formats import INVOICE_SUMMARY_COLUMNS, FileKind
from pipelines.ingest import daily_usage
from pipelines.ingest.dates import datetime_sql, refuse_day_first_dates, refuse_day_first_period
from pipelines.ingest.errors import IngestError
from pipelines.ingest.invoice_summary import (
    InvoiceDocuments,
    InvoiceFigures,
    looks_like_invoice_json,
    read_invoice_json,
    read_summary_csv,
)

# landed_files is what the landing sensor watches (pipelines/automation imports it from here).
from pipelines.ingest.landing import landed_files, survey_landing  # noqa: F401
from pipelines.ingest.recognise import recognise_header
from pipelines.ingest.recon_csv import ReconFileRead, insert_rejected_rows, read_recon_file
from pipelines.ingest.scan import ScannedFile, scan_file
from pipelines.ingest.schema import FILE_MANIFEST, RAW_TABLES, REJECTED_ROWS, ensure_raw_schema
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths
from pipelines.sql import one_row


@dataclass
class FileOutcome:
    name: str
    kind: str
    status: str  # loaded | duplicate | unrecognised | ignored (set aside unread: links, lock files, folders)
    sha256: str
    size_bytes: int
    encoding: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    invoice_numbers: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    note: str = ""


@dataclass
class MonthLoad:
    period: BillingPeriod
    files: list[FileOutcome] = field(default_factory=list)
    invoices: list[InvoiceFigures] = field(default_factory=list)
    # Only unbilled daily rated usage landed: Microsoft has not invoiced the month yet.
    open_month: bool = False

    @property
    def open_month_sentence(self) -> str:
        return daily_usage.open_month_sentence(self.period) if self.open_month else ""

    def rows(self, kind: FileKind) -> tuple[int, int]:
        chosen = [f for f in self.files if f.kind == kind.value and f.status == "loaded"]
        return sum(f.rows_loaded for f in chosen), sum(f.rows_rejected for f in chosen)


def load_month(con: duckdb.DuckDBPyConnection, paths: DataPaths, period: BillingPeriod) -> MonthLoad:
    landing = paths.landing(period)
    folder = survey_landing(landing, paths.scratch)
    files = folder.files
    if not files:
        set_aside = (
            f" ({len(folder.set_aside)} entries set aside: {', '.join(e.name for e in folder.set_aside)})"
            if folder.set_aside
            else ""
        )
        raise IngestError(
            f"landing/{period}",
            f"no files were found for this month{set_aside}",
            f"put the month's Partner Center files in {landing}",
        )
    ensure_raw_schema(con)
    # A file loaded before goes first: an identical copy landing later under another name is the duplicate.
    loaded_before = {
        name
        for (name,) in con.execute(
            f"SELECT file_name FROM {FILE_MANIFEST} WHERE billing_period = ? AND status = 'loaded'",
            [period.start],
        ).fetchall()
    }
    files.sort(key=lambda landed: (landed.name not in loaded_before, landed.name))

    month = MonthLoad(period)
    # Never opened, so never fingerprinted: a link to /etc/passwd leaves no trace of its target.
    month.files += [
        FileOutcome(entry.name, "unknown", "ignored", "", 0, "", note=entry.reason) for entry in folder.set_aside
    ]
    reads: list[ReconFileRead] = []
    seen_hashes: dict[str, str] = {}
    for landed in files:
        path = landed.path
        scanned = scan_file(path, paths.scratch, landed.name)
        outcome = FileOutcome(
            scanned.name, "unknown", "unrecognised", scanned.sha256, scanned.size_bytes, scanned.encoding
        )
        month.files.append(outcome)
        if scanned.sha256 in seen_hashes:
            outcome.status, outcome.note = "duplicate", f"identical to {seen_hashes[scanned.sha256]}; not counted twice"
            outcome.kind = next(f.kind for f in month.files if f.name == seen_hashes[scanned.sha256])
            continue
        seen_hashes[scanned.sha256] = scanned.name
        if looks_like_invoice_json(path):
            documents = read_invoice_json(scanned.path, scanned.name)
            if documents is None:
                outcome.note = "of no known kind: JSON, but no Partner Center Invoice document; left alone"
            else:
                month.invoices += _summary_from_json(documents, outcome)
            continue
        recognised = recognise_header(scanned.name, scanned.header)
        if recognised is None:
            _refuse_semicolons(scanned)
            outcome.note = "of no known kind: its header matches no Partner Center file; left alone"
            continue
        outcome.kind, outcome.status = recognised.kind.value, "loaded"
        outcome.extra_columns = recognised.extra_columns
        if recognised.kind == FileKind.INVOICE_SUMMARY:
            figures = read_summary_csv(scanned.readable_path, recognised, "utf-8-sig", scanned.delimiter, scanned.name)
            month.invoices += figures
            outcome.rows_read = outcome.rows_loaded = len(figures)
            outcome.invoice_numbers = tuple(f.invoice_number for f in figures)
            continue
        read = read_recon_file(con, scanned, recognised, slot=len(reads))
        refuse_day_first_dates(con, read)
        refuse_day_first_period(con, read, period)
        _check_charge_dates(con, read, period)
        reads.append(read)
        outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected = (
            read.rows_read,
            read.rows_loaded,
            read.rows_rejected,
        )
        currency = daily_usage.CURRENCY_COLUMN if read.kind == FileKind.DAILY_USAGE else "currency"
        outcome.currencies = tuple(
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT {currency} FROM {read.table} WHERE {currency} IS NOT NULL ORDER BY 1"
            ).fetchall()
        )

    # The open month: only unbilled daily usage, which no invoice summary can exist for yet.
    month.open_month = (
        bool(reads)
        and not month.invoices
        and all(read.kind == FileKind.DAILY_USAGE and not daily_usage.billed_rows(con, read.table) for read in reads)
    )
    if reads and not month.invoices and not month.open_month:
        raise IngestError(
            f"landing/{period}",
            "there is no invoice summary for this month, so nothing can be reconciled",
            "add invoice_summary.csv or the Partner Center Invoice JSON to the folder",
        )
    attributions = {id(read): _attribute_invoices(read, month) for read in reads}
    for read, outcome in zip(
        reads, (f for f in month.files if f.status == "loaded" and f.kind != FileKind.INVOICE_SUMMARY.value)
    ):
        if attributions[id(read)]:
            outcome.invoice_numbers = tuple(sorted(set(attributions[id(read)].values())))
        else:
            outcome.invoice_numbers = tuple(
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT invoice_number FROM {read.table} WHERE invoice_number IS NOT NULL ORDER BY 1"
                ).fetchall()
            )
    _replace_month(con, month, reads, attributions)
    return month


def _refuse_semicolons(scanned: ScannedFile) -> None:
    """A Partner Center file saved by Excel in a European locale: semicolons between values,
    and decimal commas in its amounts. Said so, rather than left alone as unknown."""
    if len(scanned.header) != 1 or ";" not in scanned.header[0]:
        return
    if recognise_header(scanned.name, tuple(scanned.header[0].split(";"))) is not None:
        raise IngestError(
            scanned.name,
            "the file's values are separated by semicolons, as Excel saves a CSV in a European locale"
            " (its amounts may carry decimal commas and its dates be day first)",
            "download the file from Partner Center again as CSV and do not open and save it in Excel",
            line=1,
        )


def _summary_from_json(documents: InvoiceDocuments, outcome: FileOutcome) -> list[InvoiceFigures]:
    outcome.kind, outcome.status = FileKind.INVOICE_SUMMARY.value, "loaded"
    outcome.rows_read = len(documents.invoices) + len(documents.credit_notes)
    outcome.rows_loaded = len(documents.invoices)
    outcome.invoice_numbers = tuple(f.invoice_number for f in documents.invoices)
    if documents.credit_notes:
        outcome.note = (
            f"credit note(s) {', '.join(documents.credit_notes)} left out: they correct invoices of earlier periods"
        )
    return documents.invoices


def _check_charge_dates(con: duckdb.DuckDBPyConnection, read: ReconFileRead, period: BillingPeriod) -> None:
    """A file whose charges all lie outside the month [start, next start) was dropped in the wrong folder."""
    start, end = period.start, period.next_start
    charge_start, charge_end = datetime_sql("charge_start_date"), datetime_sql("charge_end_date")
    # One line in the month settles it, and the scan stops there.
    in_month = con.execute(
        f"SELECT 1 FROM {read.table} WHERE {charge_start} < ? AND {charge_end} >= ? LIMIT 1", [end, start]
    ).fetchone()
    if in_month:
        return
    first, last = one_row(con, f"SELECT min({charge_start})::DATE, max({charge_end})::DATE FROM {read.table}")
    if read.kind == FileKind.NCE_RECON and last is not None and last < start:
        # Prior-period corrections (late credits, refunds of an earlier month) billed on this
        # month's invoice (issue 14): every line carries its invoice number, which reconciliation
        # matches to this month's summary, so a file of another month still fails there, named.
        return
    if first is not None and last is not None and (last < start or first >= end):
        raise IngestError(
            read.scanned.name,
            f"its charges run from {first:%-m/%-d/%Y} to {last:%-m/%-d/%Y}, wholly outside {period}",
            "move it to the landing folder of its own month",
            column="ChargeStartDate",
        )


def _attribute_invoices(read: ReconFileRead, month: MonthLoad) -> dict[str, str]:
    """A license file has no invoice number: the month's invoice in the same currency, else an
    invoice number in the file's name, else a clear error."""
    if read.kind != FileKind.LICENSE_RECON:
        return {}
    in_name = [
        f.invoice_number
        for f in month.invoices
        if re.search(re.escape(f.invoice_number), read.scanned.name, re.IGNORECASE)
    ]
    attribution: dict[str, str] = {}
    currencies = next(f.currencies for f in month.files if f.name == read.scanned.name)
    for currency in currencies:
        candidates = [f.invoice_number for f in month.invoices if f.currency == currency]
        if len(candidates) == 1:
            attribution[currency] = candidates[0]
            continue
        named = [number for number in in_name if number in candidates]
        if len(named) == 1:
            attribution[currency] = named[0]
            continue
        problem = (
            f"the month has {len(candidates)} invoices in {currency} ({', '.join(candidates)})"
            if candidates
            else f"no invoice of the month is in {currency}"
        )
        raise IngestError(
            read.scanned.name,
            f"{problem}, and the file name names none of them, so its license charges cannot be attributed",
            "rename the file to include its invoice number (e.g. D020001IVK_License.csv)",
            column="Currency",
        )
    return attribution


def _replace_month(
    con: duckdb.DuckDBPyConnection,
    month: MonthLoad,
    reads: list[ReconFileRead],
    attributions: dict[int, dict[str, str]],
) -> None:
    period_start = month.period.start
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    previous_loads = dict(
        con.execute(
            f"SELECT file_name || ':' || sha256, loaded_at FROM {FILE_MANIFEST} WHERE billing_period = ?::DATE",
            [period_start],
        ).fetchall()
    )
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (*RAW_TABLES.values(), FILE_MANIFEST, REJECTED_ROWS):
            con.execute(f"DELETE FROM {table} WHERE billing_period = ?::DATE", [period_start])
        for read in reads:
            sql, params = read.insert_sql(RAW_TABLES[read.kind], month.period, attributions[id(read)])
            con.execute(sql, params)
            insert_rejected_rows(con, read, month.period)
        summary_files = {
            number: f.name
            for f in month.files
            for number in f.invoice_numbers
            if f.kind == FileKind.INVOICE_SUMMARY.value
        }
        if month.invoices:
            # By name: a warehouse made by an earlier version has the NCE figures at the end.
            columns = [column.sql_name for column in INVOICE_SUMMARY_COLUMNS] + [
                "billing_period",
                "source_file",
                "source_line",
                "file_sha256",
            ]
            con.executemany(
                f"INSERT INTO {RAW_TABLES[FileKind.INVOICE_SUMMARY]} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in INVOICE_SUMMARY_COLUMNS)}, ?::DATE, ?, ?, ?)",
                [
                    [
                        *f.as_row(),
                        period_start,
                        summary_files[f.invoice_number],
                        f.source_line,
                        _sha_of(month, summary_files[f.invoice_number]),
                    ]
                    for f in month.invoices
                ],
            )
        con.executemany(
            f"INSERT INTO {FILE_MANIFEST} VALUES (?::DATE, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    period_start,
                    f.name,
                    f.kind,
                    f.status,
                    ", ".join(f.invoice_numbers) or None,
                    ", ".join(f.currencies) or None,
                    f.sha256,
                    f.size_bytes,
                    f.encoding,
                    f.rows_read,
                    f.rows_loaded,
                    f.rows_rejected,
                    list(f.extra_columns),
                    f.note or None,
                    previous_loads.get(f"{f.name}:{f.sha256}", loaded_at),
                ]
                for f in month.files
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _sha_of(month: MonthLoad, file_name: str) -> str:
    return next(f.sha256 for f in month.files if f.name == file_name)
