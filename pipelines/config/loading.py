"""The partner's configuration directory: read, checked as a whole, and loaded into `config.*`.

Format mistakes (a rate that is not a number, an unknown tax treatment, a duplicate id) stop the
run: nothing is billed from a configuration that may be wrong. An incomplete billing profile
(no address, no VAT id for a reverse charge, no exemption wording) only keeps that customer from
being invoiced: it is recorded in `config.customers.billing_profile_problems`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.config.csv_files import read_table
from pipelines.config.errors import ConfigError, ConfigProblem
from pipelines.config.partner import PARTNER_SETTINGS, PartnerProfile, load_partner
from pipelines.config.tables import (
    CONFIG_TABLES,
    CUSTOMER_DERIVED_COLUMNS,
    CUSTOMERS,
    DEFAULT_AZURE_GROUPING,
    PRICING_RULES,
    SERVICE_CHARGES,
    ConfigTable,
)
from pipelines.settings import DataPaths

CONFIG_SCHEMA = "config"
SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


@dataclass(frozen=True)
class PartnerConfig:
    directory: Path
    partner: PartnerProfile
    tables: dict[str, list[dict]]  # config table name -> rows (typed, with source_line)

    @property
    def customers(self) -> list[dict]:
        return self.tables[CUSTOMERS.name]


def config_dir_in_use(paths: DataPaths) -> Path:
    """The configured directory; the sample shipped with the code while none has been written yet."""
    directory = paths.config_dir
    return directory if directory.exists() else SAMPLE_DIR


def write_sample_config(directory: str | os.PathLike) -> list[Path]:
    """Write the commented sample configuration into `directory`, never over an existing file."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    existing = [name.name for name in sorted(SAMPLE_DIR.iterdir()) if (target / name.name).exists()]
    if existing:
        raise FileExistsError(
            f"{target} already has {', '.join(existing)}: nothing was written, so your own settings stay as they are."
        )
    written = []
    for source in sorted(SAMPLE_DIR.iterdir()):
        if source.is_file():
            shutil.copyfile(source, target / source.name)
            written.append(target / source.name)
    return written


def load_config(directory: str | os.PathLike) -> PartnerConfig:
    """Every file read and checked; ConfigError lists every problem, each with file, line, field."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(
            str(directory),
            [ConfigProblem(str(directory), None, None, "is not a directory: run `csp-recon init` to write a sample")],
        )
    partner, problems = load_partner(directory)
    tables: dict[str, list[dict]] = {}
    for table in CONFIG_TABLES:
        path = directory / table.file_name
        if not path.is_file():
            problems.append(
                ConfigProblem(table.file_name, None, None, "is missing: run `csp-recon init` to write a sample to edit")
            )
            continue
        rows, found = read_table(path, table)
        tables[table.name] = rows
        problems.extend(found)
    if not problems:
        problems.extend(_cross_file_problems(tables))
    if problems or partner is None:
        raise ConfigError(str(directory), problems)
    for row in tables[CUSTOMERS.name]:
        row["tax_exempt"] = row["tax_treatment"] != "domestic"
        row["billing_profile_problems"] = "; ".join(billing_profile_gaps(row)) or None
        row["language"] = row["language"] or partner.language
        row["invoice_grouping"] = row["invoice_grouping"] or "product"
        row["azure_grouping"] = row["azure_grouping"] or DEFAULT_AZURE_GROUPING
    return PartnerConfig(directory=directory, partner=partner, tables=tables)


def billing_profile_gaps(customer: dict) -> list[str]:
    """What an invoice to this customer would lack to be a legal invoice."""
    gaps = [
        f"no {label}"
        for field, label in (("address_line1", "address"), ("city", "city"), ("country", "country"))
        if not customer.get(field)
    ]
    treatment = customer["tax_treatment"]
    if treatment == "domestic" and customer.get("vat_rate") is None:
        gaps.append("tax_treatment is domestic but vat_rate is blank")
    if treatment == "reverse_charge" and not customer.get("vat_id"):
        gaps.append(
            "tax_treatment is reverse_charge but vat_id is blank (the customer's VAT number must be on the invoice)"
        )
    if treatment == "exempt" and not customer.get("exemption_text"):
        gaps.append("tax_treatment is exempt but exemption_text is blank (the legal wording of the exemption)")
    return gaps


def _cross_file_problems(tables: dict[str, list[dict]]) -> list[ConfigProblem]:
    customers = {row["customer_id"]: row for row in tables[CUSTOMERS.name]}
    problems = []
    for row in tables[SERVICE_CHARGES.name]:
        customer = customers.get(row["customer_id"])
        if customer is None:
            problems.append(
                ConfigProblem(
                    SERVICE_CHARGES.file_name,
                    row["source_line"],
                    "customer_id",
                    f"'{row['customer_id']}' is not in customers.csv",
                )
            )
        elif customer["currency"] != row["currency"]:
            problems.append(
                ConfigProblem(
                    SERVICE_CHARGES.file_name,
                    row["source_line"],
                    "currency",
                    f"is {row['currency']} but the customer is billed in {customer['currency']}",
                )
            )
    for row in tables[PRICING_RULES.name]:
        if row["customer_id"] is not None and row["customer_id"] not in customers:
            problems.append(
                ConfigProblem(
                    PRICING_RULES.file_name,
                    row["source_line"],
                    "customer_id",
                    f"'{row['customer_id']}' is not in customers.csv",
                )
            )
        if row["basis"] == "fixed_unit_price" and (row["unit_price"] is None or row["currency"] is None):
            problems.append(
                ConfigProblem(
                    PRICING_RULES.file_name,
                    row["source_line"],
                    "unit_price",
                    "a fixed_unit_price rule needs unit_price and currency",
                )
            )
        if row["basis"] in ("cost_markup", "list_relative") and row["rate"] is None:
            problems.append(
                ConfigProblem(
                    PRICING_RULES.file_name,
                    row["source_line"],
                    "rate",
                    f"a {row['basis']} rule needs a rate (a percentage such as 15)",
                )
            )
    return problems


def load_into_warehouse(con: duckdb.DuckDBPyConnection, config: PartnerConfig) -> dict[str, int]:
    """Replace `config.*` with the configuration's rows, in one transaction; rows per table."""
    counts = {}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {CONFIG_SCHEMA}")
        for table in CONFIG_TABLES:
            counts[table.name] = _replace_table(con, table, config.tables[table.name])
        _replace_partner_profile(con, config.partner)
        con.execute(
            f"CREATE OR REPLACE TABLE {PARTNER_SETTINGS} AS SELECT ?::DECIMAL(28, 2) AS daily_usage_allowance",
            [config.partner.daily_usage_allowance],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return counts


# The partner's identity as the FOCUS datasets name the invoice issuer (one row, from partner.toml).
PARTNER_PROFILE_TABLE = f"{CONFIG_SCHEMA}.partner_profile"


def _replace_partner_profile(con: duckdb.DuckDBPyConnection, partner: PartnerProfile) -> None:
    con.execute(f"DROP TABLE IF EXISTS {PARTNER_PROFILE_TABLE}")
    con.execute(
        f"CREATE TABLE {PARTNER_PROFILE_TABLE} (legal_name VARCHAR NOT NULL, country VARCHAR, vat_id VARCHAR, "
        "registration_id VARCHAR, payment_terms_days INTEGER, series VARCHAR)"
    )
    con.execute(
        f"INSERT INTO {PARTNER_PROFILE_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
        [
            partner.legal_name,
            partner.country,
            partner.vat_id,
            partner.registration_id,
            partner.payment_terms_days,
            partner.series,
        ],
    )


def _replace_table(con: duckdb.DuckDBPyConnection, table: ConfigTable, rows: list[dict]) -> int:
    columns = [(column.name, column.sql_type) for column in table.columns]
    if table is CUSTOMERS:
        columns.extend(CUSTOMER_DERIVED_COLUMNS)
    columns.append(("source_line", "INTEGER"))
    name = f"{CONFIG_SCHEMA}.{table.name}"
    con.execute(f"DROP TABLE IF EXISTS {name}")
    con.execute(f"CREATE TABLE {name} (" + ", ".join(f'"{column}" {sql_type}' for column, sql_type in columns) + ")")
    if rows:
        placeholders = ", ".join("?" for _ in columns)
        con.executemany(
            f"INSERT INTO {name} VALUES ({placeholders})", [[row.get(column) for column, _ in columns] for row in rows]
        )
    return len(rows)
