"""Validating a FOCUS file: the FinOps Foundation's focus-validator, and the project's own checks.

focus-validator 1.0.0 is the only release on PyPI: its rule sets are FOCUS 0.5, 1.0-preview and
1.0 (the 2.x line with FOCUS 1.2 rules is not published there, and needs Python 3.12). It pins
numpy<2, pandas<3 and sqlglot<19, which the project's venv outgrew, so it runs in a venv of its
own (`make focus-validator`: `.venv-focus`, `requirements-focus.lock`) as a subprocess.

What it validates, declared: the 1.0 rule set (133 rules: presence, type, nullability and
allowed values of the 1.0 columns), on the CSV file (its Parquet loader reads DECIMAL columns
as Python objects, which its float type check refuses), where FOCUS 1.0 and 1.2 agree. Its 1.0
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

from pipelines.settings import REPO_ROOT

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


def run_focus_validator(csv_files: list[Path], python: Path = VALIDATOR_PYTHON) -> list[ValidatorReport]:
    """focus-validator's 1.0 rule set on CSV files, in its own venv (one process for all)."""
    if not python.exists():
        raise ValidatorMissing(f"focus-validator is not installed ({python} is missing): run `make focus-validator`.")
    request = {
        "data_files": [str(path.resolve()) for path in csv_files],
        "version": VALIDATED_RULE_SET,
        "skip": list(SKIPPED_RULES),
        "rename": RENAMED_FOR_VALIDATOR,
        "copy": COPIED_FOR_VALIDATOR,
    }
    with tempfile.TemporaryDirectory() as scratch:
        request_file = Path(scratch) / "request.json"
        request_file.write_text(json.dumps(request), encoding="utf-8")
        done = subprocess.run(
            [str(python), str(RUNNER), str(request_file)], capture_output=True, text=True, timeout=TIMEOUT_SECONDS
        )
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit code {done.returncode}"
        raise RuntimeError(f"focus-validator could not check {', '.join(path.name for path in csv_files)}: {last}")
    answer = json.loads(done.stdout)
    return [
        ValidatorReport(path, answer[str(path.resolve())]["checks"], answer[str(path.resolve())]["failures"])
        for path in csv_files
    ]
