"""Validating a FOCUS file: the FinOps Foundation's focus-validator, and the project's own checks.

focus-validator 1.0.0 is the only release on PyPI: its rule sets are FOCUS 0.5, 1.0-preview and
1.0 (the 2.x line with FOCUS 1.2 rules is not published there, and needs Python 3.12). It pins
numpy<2, pandas<3 and sqlglot<19, which the project's venv outgrew, so it runs in a venv of its
own (`make focus-validator`: `.venv-focus`, `requirements-focus.lock`) as a subprocess.

What it validates, declared: the 1.0 rule set (133 rules: presence, type, nullability and
allowed values of the 1.0 columns), where FOCUS 1.0 and 1.2 agree, on CSV and Parquet files. It
cannot read csp-recon's Parquet itself: its pandas loader reads DECIMAL columns as Python
Decimal objects, which its float type check refuses, and its venv's pyarrow does not import
under the numpy<2 it pins. So a Parquet file is handed to it as a JSON-lines copy in its scratch
folder, read from the Parquet by DuckDB: every DECIMAL cast to DOUBLE, datetimes as the CSV
writes them (ISO 8601 UTC), every other column as it is; the exact decimals and the Parquet's
types are the project's checks' (`checks.py`), on the file itself. Its 1.0
rules still name four columns by their 0.5 names (InvoiceIssuer, Provider, Publisher,
ResourceID) and one rule reads ChargeType (now ChargeCategory): the file's columns are renamed
or copied for the validator so those rules check the 1.2 columns. The 1.2/1.4 rules it lacks are
the project's own (`checks.py`): required 1.2 columns, exclusive period ends in UTC, x_ columns
last, BilledCost summing to each invoice per issuer.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.focus.files import PARQUET_SUFFIX, parquet_columns, text_expression
from pipelines.settings import REPO_ROOT
from pipelines.sql import quote_identifier, string_literal

VALIDATOR_PYTHON = REPO_ROOT / ".venv-focus" / "bin" / "python"
RUNNER = Path(__file__).with_name("validator_runner.py")
VALIDATED_RULE_SET = "1.0"
# The validator's 1.0 rules still use FOCUS 0.5's names for these 1.2 columns.
RENAMED_FOR_VALIDATOR = {
    "InvoiceIssuerName": "InvoiceIssuer",
    "ProviderName": "Provider",
    "PublisherName": "Publisher",
    "ResourceId": "ResourceID",
}
# SkuPriceId_Nullable reads ChargeType (0.5's ChargeCategory): given a copy, the column stays.
COPIED_FOR_VALIDATOR = {"ChargeCategory": "ChargeType"}
# Rules where 1.0 and 1.2 disagree, skipped (none for the columns csp-recon writes).
SKIPPED_RULES: tuple[str, ...] = ()
TIMEOUT_SECONDS = 300
JSON_LINES_SUFFIX = ".jsonl"  # what validator_runner.py reads with pandas' JSON-lines reader


class ValidatorMissing(RuntimeError):
    """The validator's venv is not installed: `make focus-validator`."""


@dataclass(frozen=True)
class ValidatorReport:
    file: Path
    checks: list[dict]
    failures: list[dict]

    @property
    def failed_checks(self) -> list[dict]:
        return [check for check in self.checks if check["status"] not in ("passed", "skipped")]

    @property
    def passed(self) -> bool:
        return not self.failed_checks

    def sentences(self) -> list[str]:
        said = []
        for check in self.failed_checks:
            found = [f for f in self.failures if f.get("Check Name") == check["check"]]
            description = (found[0].get("Description") or "").strip() if found else (check.get("error") or "")
            rows = sorted({f["Row #"] for f in found if f.get("Row #")}, key=lambda r: float(r))[:5]
            where = f" (rows {', '.join(str(int(float(r)) + 1) for r in rows)} of the file)" if rows else ""
            said.append(
                f"{self.file.name}: focus-validator rule {check['check']} of FOCUS {VALIDATED_RULE_SET} fails on column "
                f"{check['column']}{where}: {description or 'see the validator output'}."
            )
        return said


def validator_copy(path: Path, target: Path) -> Path:
    """What the validator reads for `path`: a CSV as it is; for a Parquet file, a JSON-lines copy
    written to `target` (DECIMAL as DOUBLE, datetimes as ISO 8601 UTC text, the rest unchanged)."""
    if path.suffix != PARQUET_SUFFIX:
        return path.resolve()
    with duckdb.connect() as con:
        cells = ", ".join(
            f"{_validator_cell(name, sql_type)} AS {quote_identifier(name)}"
            for name, sql_type in parquet_columns(con, path)
        )
        con.execute(
            f"COPY (SELECT {cells} FROM read_parquet({string_literal(path)})) TO {string_literal(target)} (FORMAT json)"
        )
    return target


def _validator_cell(name: str, sql_type: str) -> str:
    kind = sql_type.upper()
    if kind.startswith("DECIMAL"):
        return f"{quote_identifier(name)}::DOUBLE"
    if kind.startswith("TIMESTAMP"):
        return text_expression(name, sql_type, guard=False)
    return quote_identifier(name)


def run_focus_validator(files: list[Path], python: Path = VALIDATOR_PYTHON) -> list[ValidatorReport]:
    """focus-validator's 1.0 rule set on CSV and Parquet files, in its own venv (one process for all)."""
    if not python.exists():
        raise ValidatorMissing(f"focus-validator is not installed ({python} is missing): run `make focus-validator`.")
    with tempfile.TemporaryDirectory() as scratch:
        copies = {
            validator_copy(path, Path(scratch) / f"{number}-{path.stem}{JSON_LINES_SUFFIX}"): path
            for number, path in enumerate(files)
        }
        request = {
            "data_files": [str(copy) for copy in copies],
            "version": VALIDATED_RULE_SET,
            "skip": list(SKIPPED_RULES),
            "rename": RENAMED_FOR_VALIDATOR,
            "copy": COPIED_FOR_VALIDATOR,
        }
        request_file = Path(scratch) / "request.json"
        request_file.write_text(json.dumps(request), encoding="utf-8")
        done = subprocess.run(
            [str(python), str(RUNNER), str(request_file)], capture_output=True, text=True, timeout=TIMEOUT_SECONDS
        )
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit code {done.returncode}"
        raise RuntimeError(f"focus-validator could not check {', '.join(path.name for path in files)}: {last}")
    answer = json.loads(done.stdout)
    return [
        ValidatorReport(path, answer[str(copy)]["checks"], answer[str(copy)]["failures"])
        for copy, path in copies.items()
    ]
