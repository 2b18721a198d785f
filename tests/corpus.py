"""Ugly and broken Partner Center files for the ingest tests, and what they should load to.

Files are built either from `csp-recon generate` output (real layouts, real volumes) or row by
row with the csv module. Expected figures are computed here with Decimal from the rows the
tests write, never taken from the pipeline. Column names are spelled out as Partner Center
writes them (partner-center-files.md), not imported from the pipeline's own format table, so
a column the pipeline forgets to read shows up as a failing test.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from pipelines.cli import main
from pipelines.ingest.month import MonthLoad, load_month
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths

PERIOD = "2026-10"

# The legacy license-based file of a direct partner: 27 columns (indirect adds ResellerMpnId after MpnId).
LICENSE_HEADER: tuple[str, ...] = (
    "PartnerId",
    "CustomerId",
    "CustomerName",
    "MpnId",
    "OrderId",
    "SubscriptionId",
    "SyndicationPartnerSubscriptionNumber",
    "OfferId",
    "DurableOfferId",
    "OfferName",
    "SubscriptionStartDate",
    "SubscriptionEndDate",
    "ChargeStartDate",
    "ChargeEndDate",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "Amount",
    "TotalOtherDiscount",
    "Subtotal",
    "Tax",
    "TotalForCustomer",
    "Currency",
    "DomainName",
    "SubscriptionName",
    "SubscriptionDescription",
    "BillingCycleType",
)
LICENSE_HEADER_INDIRECT: tuple[str, ...] = LICENSE_HEADER[:4] + ("ResellerMpnId",) + LICENSE_HEADER[4:]

USAGE_HEADER: tuple[str, ...] = (
    "PartnerId",
    "PartnerName",
    "PartnerBillableAccountId",
    "CustomerCompanyName",
    "MpnId",
    "ResellerMpnId",
    "InvoiceNumber",
    "ChargeStartDate",
    "ChargeEndDate",
    "SubscriptionId",
    "SubscriptionName",
    "SubscriptionDescription",
    "OrderId",
    "ServiceName",
    "ServiceType",
    "ResourceGuid",
    "ResourceName",
    "Region",
    "Sku",
    "DetailLineItemId",
    "ConsumedQuantity",
    "IncludedQuantity",
    "OverageQuantity",
    "ListPrice",
    "PretaxCharges",
    "TaxAmount",
    "PostTaxTotal",
    "Currency",
    "PretaxEffectiveRate",
    "PostTaxEffectiveRate",
    "ChargeType",
    "CustomerId",
    "DomainName",
    "BillingCycleType",
    "Unit",
)
USAGE_DAILY_EXTRAS: tuple[str, ...] = (
    "CustomerBillableAccount",
    "UsageDate",
    "MeteredRegion",
    "MeteredService",
    "MeteredServiceType",
    "Project",
    "ServiceInfo",
)

SUMMARY_HEADER: tuple[str, ...] = (
    "InvoiceNumber",
    "InvoiceDate",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "Currency",
    "LicenseCharges",
    "UsageCharges",
    "OtherCharges",
    "Tax",
    "Total",
)

PARTNER_ID = "8caf98cd-1cd5-4245-9e91-042cd814c25d"


# ---------------------------------------------------------------------------------------------
# Rows


def license_row(
    customer_id: str,
    customer_name: str,
    subtotal: str,
    tax: str,
    *,
    currency: str = "EUR",
    line: int = 1,
    **overrides: str,
) -> dict[str, str]:
    """One license line; Amount = Subtotal (no discount), TotalForCustomer = Subtotal + Tax."""
    row = {
        "PartnerId": PARTNER_ID,
        "CustomerId": customer_id,
        "CustomerName": customer_name,
        "MpnId": "7116754",
        "ResellerMpnId": "-1",
        "OrderId": f"5668906048327{line:05d}",
        "SubscriptionId": f"00000000-0000-4000-8000-{line:012d}",
        "SyndicationPartnerSubscriptionNumber": f"11111111-0000-4000-8000-{line:012d}",
        "OfferId": "99BEA13A-1D01-5020-AC7C-3461BCE1C3A8",
        "DurableOfferId": "DD9FA06E-0602-5710-BBE1-E6E9EC838DAE",
        "OfferName": "Office 365 E3",
        "SubscriptionStartDate": "11/8/2021",
        "SubscriptionEndDate": "11/7/2026",
        "ChargeStartDate": "10/1/2026 0:00",
        "ChargeEndDate": "10/31/2026 23:59",
        "ChargeType": "Cycle fee",
        "UnitPrice": subtotal,
        "Quantity": "1",
        "Amount": subtotal,
        "TotalOtherDiscount": "0.00",
        "Subtotal": subtotal,
        "Tax": tax,
        "TotalForCustomer": str(Decimal(subtotal) + Decimal(tax)),
        "Currency": currency,
        "DomainName": "contoso.onmicrosoft.com",
        "SubscriptionName": "Office 365 E3",
        "SubscriptionDescription": "Office 365 E3",
        "BillingCycleType": "Monthly",
    }
    row.update(overrides)
    return row


def usage_row(
    customer_id: str,
    customer_name: str,
    invoice_number: str,
    pretax: str,
    tax: str,
    *,
    currency: str = "EUR",
    line: int = 1,
    **overrides: str,
) -> dict[str, str]:
    """One usage line; PostTaxTotal = PretaxCharges + TaxAmount."""
    row = {
        "PartnerId": PARTNER_ID,
        "PartnerName": "Northwind Cloud Partners Ltd.",
        "PartnerBillableAccountId": "1836561781",
        "CustomerCompanyName": customer_name,
        "MpnId": "7116754",
        "ResellerMpnId": "-1",
        "InvoiceNumber": invoice_number,
        "ChargeStartDate": "10/1/2026 0:00",
        "ChargeEndDate": "10/31/2026 23:59",
        "SubscriptionId": f"22222222-0000-4000-8000-{line:012d}",
        "SubscriptionName": "Azure - Finance",
        "SubscriptionDescription": "Microsoft Azure",
        "OrderId": f"1841676079340{line:05d}",
        "ServiceName": "Virtual Machines",
        "ServiceType": "BS Series",
        "ResourceGuid": "a300dadb-a604-5e80-ac06-f2dc8561c80c",
        "ResourceName": "B2s",
        "Region": "FR Central",
        "Sku": "7UD-00001",
        "DetailLineItemId": "1",
        "ConsumedQuantity": "10",
        "IncludedQuantity": "0",
        "OverageQuantity": "10",
        "ListPrice": "0.5",
        "PretaxCharges": pretax,
        "TaxAmount": tax,
        "PostTaxTotal": str(Decimal(pretax) + Decimal(tax)),
        "Currency": currency,
        "PretaxEffectiveRate": "0.05000000",
        "PostTaxEffectiveRate": "0.06000000",
        "ChargeType": "Assess usage fee for current cycle",
        "CustomerId": customer_id,
        "DomainName": "contoso.onmicrosoft.com",
        "BillingCycleType": "Monthly",
        "Unit": "1 Hour",
    }
    row.update(overrides)
    return row


def summary_row(
    invoice_number: str,
    currency: str,
    license_rows: Iterable[Mapping[str, str]] = (),
    usage_rows: Iterable[Mapping[str, str]] = (),
    other: str = "0.00",
) -> dict[str, str]:
    """The invoice's printed figures: exactly the sums of the rows given."""
    license_rows, usage_rows = list(license_rows), list(usage_rows)
    license_total = sum((Decimal(r["Subtotal"]) for r in license_rows), Decimal("0.00"))
    usage_total = sum((Decimal(r["PretaxCharges"]) for r in usage_rows), Decimal("0.00"))
    tax = sum((Decimal(r["Tax"]) for r in license_rows), Decimal("0.00")) + sum(
        (Decimal(r["TaxAmount"]) for r in usage_rows), Decimal("0.00")
    )
    return {
        "InvoiceNumber": invoice_number,
        "InvoiceDate": "2026-11-01",
        "BillingPeriodStart": "2026-10-01",
        "BillingPeriodEnd": "2026-10-31",
        "Currency": currency,
        "LicenseCharges": str(license_total),
        "UsageCharges": str(usage_total),
        "OtherCharges": other,
        "Tax": str(tax),
        "Total": str(license_total + usage_total + Decimal(other) + tax),
    }


# ---------------------------------------------------------------------------------------------
# Writing files


def csv_text(
    header: Sequence[str],
    rows: Iterable[Mapping[str, str] | Sequence[str]],
    *,
    written_header: Sequence[str] | None = None,
    line_end: str = "\r\n",
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
) -> str:
    """CSV text as the csv module writes it. Dict rows are laid out by `header` (canonical
    names); the header line itself can be spelled differently (`written_header`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end, delimiter=delimiter, quoting=quoting)
    writer.writerow(written_header or header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header] if isinstance(row, Mapping) else row)
    return buffer.getvalue()


def csv_line(values: Sequence[str], line_end: str = "\r\n") -> str:
    return csv_text(values, [], line_end=line_end)


def write_text(path: Path, text: str, encoding: str = "utf-8", bom: bool = True) -> Path:
    """Write `text` in the encoding asked for. `utf-16` is Excel's "Unicode text": UTF-16LE
    with its byte order mark."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if encoding == "utf-16":
        data = b"\xff\xfe" + text.encode("utf-16-le")
    elif encoding == "utf-8":
        data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    else:
        data = text.encode(encoding)
    path.write_bytes(data)
    return path


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Mapping[str, str]],
    *,
    encoding: str = "utf-8",
    bom: bool = True,
    **layout,
) -> Path:
    return write_text(path, csv_text(header, rows, **layout), encoding=encoding, bom=bom)


def write_summary(path: Path, invoices: Iterable[Mapping[str, str]]) -> Path:
    return write_csv(path, SUMMARY_HEADER, invoices)


def write_invoice_json(path: Path, invoices: Iterable[Mapping[str, str]], collection: bool = True) -> Path:
    """Partner Center API `Invoice` resources, totalCharges tax included, as JSON numbers."""
    invoices = list(invoices)
    documents = [
        {
            "id": row["InvoiceNumber"],
            "invoiceDate": "2026-11-01T00:00:00Z",
            "billingPeriodStartDate": "2026-10-01T00:00:00Z",
            "billingPeriodEndDate": "2026-10-31T00:00:00Z",
            "totalCharges": f"__{row['Total']}__",  # replaced below by the exact decimal literal
            "paidAmount": 0,
            "currencyCode": row["Currency"],
            "currencySymbol": "€" if row["Currency"] == "EUR" else "$",
            "invoiceType": "recurring",
            "documentType": "Invoice",
            "invoiceDetails": [{"invoiceLineItemType": "billing_line_items", "billingProvider": "office"}],
            "attributes": {"objectType": "Invoice"},
        }
        for row in invoices
    ]
    document = (
        {"totalCount": len(documents), "items": documents, "attributes": {"objectType": "Collection"}}
        if collection
        else documents[0]
    )
    text = json.dumps(document, indent=2, ensure_ascii=False)
    for row in invoices:
        text = text.replace(f'"__{row["Total"]}__"', row["Total"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.DictReader(source)
        return list(reader.fieldnames or []), list(reader)


# ---------------------------------------------------------------------------------------------
# Generated months


def generate_month(
    data_dir: Path,
    *,
    seed: int = 5,
    customers: int = 4,
    license_rows: int = 12,
    usage_rows: int = 20,
    currencies: str = "EUR,USD",
    indirect: bool = False,
    period: str = PERIOD,
) -> Path:
    """`csp-recon generate` into `<data_dir>/landing/<period>`; returns that folder."""
    args = [
        "generate",
        "--out",
        str(data_dir / "landing"),
        "--period",
        period,
        "--customers",
        str(customers),
        "--license-rows",
        str(license_rows),
        "--usage-rows",
        str(usage_rows),
        "--currencies",
        currencies,
        "--seed",
        str(seed),
        "--commerce",
        "legacy",
    ]
    assert main(args + (["--indirect"] if indirect else [])) == 0
    return data_dir / "landing" / period


def file_kind_of(header: Sequence[str]) -> str:
    names = set(header)
    if "SyndicationPartnerSubscriptionNumber" in names:
        return "license_recon"
    if "PretaxCharges" in names:
        return "usage_recon"
    if "LicenseCharges" in names:
        return "invoice_summary"
    return "unknown"


def expected_costs(files: Iterable[tuple[str, Iterable[Mapping[str, str]]]]) -> dict[tuple[str, str], Decimal]:
    """Per (CustomerId, Currency): pre-tax cost, summed with Decimal from (kind, rows) pairs."""
    costs: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for kind, rows in files:
        column = {"license_recon": "Subtotal", "usage_recon": "PretaxCharges"}[kind]
        for row in rows:
            costs[(row["CustomerId"], row["Currency"])] += Decimal(row[column])
    return dict(costs)


# ---------------------------------------------------------------------------------------------
# Loading and looking


def data_paths(data_dir: Path) -> DataPaths:
    return DataPaths(data_dir.resolve())


def load(data_dir: Path, period: str = PERIOD) -> MonthLoad:
    """`load_month` against `<data_dir>/warehouse.duckdb`, as the ingest asset calls it."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        return load_month(con, data_paths(data_dir), BillingPeriod.parse(period))


def query(data_dir: Path, sql: str, params: Sequence | None = None) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params or [])).fetchall()


RAW_TABLES = ("raw.license_recon", "raw.usage_recon", "raw.invoice_summary", "raw.file_manifest", "raw.rejected_rows")


def snapshot(data_dir: Path, tables: Sequence[str] = RAW_TABLES) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order: equal snapshots mean identical tables."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in tables}


def manifest(data_dir: Path, period: str = PERIOD) -> dict[str, dict]:
    """raw.file_manifest of the month, by file name."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute("SELECT * FROM raw.file_manifest WHERE billing_period = ?::DATE", [f"{period}-01"])
        names = [d[0] for d in cursor.description]
        return {row[1]: dict(zip(names, row)) for row in cursor.fetchall()}


def rejected(data_dir: Path, period: str = PERIOD) -> list[tuple]:
    """(file_name, line_number, column_name, reason, raw_line) of the month, in file/line order."""
    return query(
        data_dir,
        """SELECT file_name, line_number, column_name, reason, raw_line FROM raw.rejected_rows
           WHERE billing_period = ?::DATE ORDER BY file_name, line_number""",
        [f"{period}-01"],
    )


def loaded_costs(data_dir: Path, period: str = PERIOD) -> dict[tuple[str, str], Decimal]:
    """Per (customer_id, currency): pre-tax cost as loaded in raw.license_recon + raw.usage_recon."""
    rows = query(
        data_dir,
        """SELECT customer_id, currency, sum(cost) FROM (
               SELECT customer_id, currency, subtotal AS cost FROM raw.license_recon WHERE billing_period = ?::DATE
               UNION ALL
               SELECT customer_id, currency, pretax_charges FROM raw.usage_recon WHERE billing_period = ?::DATE)
           GROUP BY ALL""",
        [f"{period}-01"] * 2,
    )
    return {(customer, currency): cost for customer, currency, cost in rows}


def snake(name: str) -> str:
    """The warehouse column of a Partner Center header (`CustomerId` -> `customer_id`)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


DECIMAL_COLUMNS = {
    "UnitPrice",
    "Amount",
    "TotalOtherDiscount",
    "Subtotal",
    "Tax",
    "TotalForCustomer",
    "ConsumedQuantity",
    "IncludedQuantity",
    "OverageQuantity",
    "ListPrice",
    "PretaxCharges",
    "TaxAmount",
    "PostTaxTotal",
    "PretaxEffectiveRate",
    "PostTaxEffectiveRate",
}
INTEGER_COLUMNS = {"Quantity", "DetailLineItemId"}
DATE_COLUMNS = {"SubscriptionStartDate", "SubscriptionEndDate", "ChargeStartDate", "ChargeEndDate", "UsageDate"}


def typed(row: Mapping[str, str], header: Iterable[str]) -> dict:
    """What the warehouse should hold for a written row, by warehouse column: text as written,
    amounts as Decimal, US dates parsed with explicit formats, blanks as NULL."""
    values = {}
    for name in header:
        text = row.get(name, "")
        if text == "":
            value = None
        elif name in DECIMAL_COLUMNS:
            value = Decimal(text)
        elif name in INTEGER_COLUMNS:
            value = int(text)
        elif name in DATE_COLUMNS:
            value = next(
                datetime.strptime(text, fmt)
                for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")
                if _parses(text, fmt)
            )
        else:
            value = text
        values[snake(name)] = value
    return values


def _parses(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def loaded_values(row: Mapping[str, object], header: Iterable[str]) -> dict:
    """A raw table row reduced to the columns of `header`, by warehouse column."""
    return {snake(name): row[snake(name)] for name in header}


def raw_rows(data_dir: Path, table: str, source_file: str | None = None, period: str = PERIOD) -> list[dict]:
    """Rows of a raw table as dicts, in file line order."""
    sql = f"SELECT * FROM {table} WHERE billing_period = ?::DATE"
    params: list = [f"{period}-01"]
    if source_file is not None:
        sql += " AND source_file = ?"
        params.append(source_file)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute(sql + " ORDER BY source_file, source_line", params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


# ---------------------------------------------------------------------------------------------
# Generated months made ugly

# Commas, quotes, apostrophes and accents; every character exists in Windows-1252 too.
UGLY_NAMES: tuple[str, ...] = (
    "Société Dupont, SA",
    'Zoë & Søn "Nordic", Ltée',
    "Brûlerie d'Œuvre «Café»",
    'Müller-Lüdenscheidt GmbH, "Büro"',
    "Ångström Façades, Inc.",
    "Niño y Peña, S.L.",
)


class LandedFile:
    """A generated file read back: kind, canonical header and rows, ready to be rewritten."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header, self.rows = read_rows(path)
        self.kind = file_kind_of(self.header)

    @property
    def currency(self) -> str:
        return self.rows[0]["Currency"]


def landed_files(month_dir: Path) -> dict[tuple[str, str], LandedFile]:
    """The generated recon files by (kind, currency), plus ('invoice_summary', '')."""
    found = {}
    for path in sorted(month_dir.iterdir()):
        landed = LandedFile(path)
        found[(landed.kind, landed.currency if landed.kind != "invoice_summary" else "")] = landed
    return found


def uglify_names(files: Iterable[LandedFile]) -> dict[str, str]:
    """Give every customer one of UGLY_NAMES, in every file; returns CustomerId -> name."""
    names: dict[str, str] = {}
    for landed in files:
        for row in landed.rows:
            if "CustomerId" not in row:
                continue
            name = names.setdefault(row["CustomerId"], UGLY_NAMES[len(names) % len(UGLY_NAMES)])
            row["CustomerName" if landed.kind == "license_recon" else "CustomerCompanyName"] = name
    return names


# ---------------------------------------------------------------------------------------------
# Making a load fail half-way


class FailingConnection:
    """A DuckDB connection that fails when a statement starting with `trigger` is about to run:
    it raises, or with kill=True the process dies on the spot (SIGKILL), as in a crash."""

    def __init__(self, con: duckdb.DuckDBPyConnection, trigger: str, kill: bool = False) -> None:
        self._con = con
        self._trigger = trigger
        self._kill = kill
        self.statements: list[str] = []

    def _check(self, sql: str) -> None:
        statement = " ".join(sql.split())
        self.statements.append(statement)
        if statement.startswith(self._trigger):
            if self._kill:
                import os
                import signal

                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"simulated failure before: {statement[:60]}")

    def execute(self, sql: str, *args, **kwargs):
        self._check(sql)
        return self._con.execute(sql, *args, **kwargs)

    def executemany(self, sql: str, *args, **kwargs):
        self._check(sql)
        return self._con.executemany(sql, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


# ---------------------------------------------------------------------------------------------
# Whole runs


def run_month(data_dir: Path, period: str = PERIOD) -> tuple[int, str]:
    """`csp-recon run` in-process, with its own Dagster home under the data directory; returns
    the exit code and what it printed."""
    import contextlib

    import pytest

    from pipelines.settings import DAGSTER_HOME_ENV

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(printed):
        env.delenv(DAGSTER_HOME_ENV, raising=False)
        code = main(["run", "--period", period, "--data-dir", str(data_dir)])
    return code, printed.getvalue()


def warehouse_snapshot(data_dir: Path) -> dict[str, list[tuple]]:
    """Every row of every table in raw, staging, intermediate and marts."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        tables = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                """SELECT table_schema, table_name FROM information_schema.tables
                   WHERE table_schema IN ('raw', 'staging', 'intermediate', 'marts') ORDER BY 1, 2"""
            ).fetchall()
        ]
        return {table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in tables}
