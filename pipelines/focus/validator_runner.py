"""Run inside the focus-validator's own venv (`.venv-focus`): stdlib and focus_validator only.

    python validator_runner.py REQUEST.json

The request names the data files (CSV, or JSON lines: a Parquet file's copy), the FOCUS version of the rule set, the rules to skip and the
columns to rename or copy for the validator (its 1.0 rule set still uses 0.5's names for a few).
Prints one JSON object, per file: every check with its column and status, and the failures found.
"""

import json
import os
import sys
from pathlib import Path

import focus_validator
import pandas as pd
from focus_validator.config_objects import Override
from focus_validator.data_loaders.data_loader import DataLoader
from focus_validator.rules.spec_rules import SpecRules
from focus_validator.validator import DEFAULT_VERSION_SETS_PATH


def main(request_path: str) -> None:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    # The validator reads its currency list by a path relative to its package's parent.
    os.chdir(Path(focus_validator.__file__).resolve().parent.parent)
    print(json.dumps({data_file: validate(data_file, request) for data_file in request["data_files"]}))


def load(data_file: str) -> pd.DataFrame:
    """A CSV by the validator's own loader; a JSON-lines copy of a Parquet file (validation.py)
    as its rows are, no column guessed as a date."""
    if data_file.endswith(".jsonl"):
        return pd.read_json(data_file, lines=True, convert_dates=False, keep_default_dates=False)
    return DataLoader(data_filename=data_file).load()


def validate(data_file: str, request: dict) -> dict:
    rules = SpecRules(
        override_filename=None,
        rule_set_path=DEFAULT_VERSION_SETS_PATH,
        rules_version=request["version"],
        column_namespace=None,
    )
    rules.load()
    rules.override_config = Override(overrides=request["skip"])
    data = load(data_file).rename(columns=request["rename"])
    for source, copy in request["copy"].items():
        if source in data.columns:
            data[copy] = data[source]
    result = rules.validate(data)
    failures = []
    if result.failure_cases is not None:
        for record in result.failure_cases.to_dict("records"):
            failures.append(
                {key: (None if value != value else str(value)) for key, value in record.items()}
            )  # NaN -> None
    checks = [
        {"check": name, "column": item.column_id, "status": item.status.value, "error": item.error}
        for name, item in sorted(result.checklist.items())
    ]
    return {"checks": checks, "failures": failures}


if __name__ == "__main__":
    main(sys.argv[1])
