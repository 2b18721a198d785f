"""dbt test verdicts the gate can trust across runs: each recorded with the fingerprint of the
month's data it was about, and counted only while the month's data still has that fingerprint.

A dbt test that failed in one run and a month whose invoices another run asks for later: the
gate finds the failed verdict for the month's current data and refuses. A verdict about other
data (the month re-ingested or rebuilt since) does not count either way: the tests must run on
what is there now.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb

from pipelines.ingest.quarantine import fingerprint
from pipelines.periods import BillingPeriod

CONFIG_SCHEMA = "config"
RESULTS_TABLE = "meta.dbt_test_results"
# Verdicts kept per month: enough for the last good data and a few failed deliveries since.
KEPT_FINGERPRINTS = 20
SHOWN_IN_SENTENCE = 5
PASSING = ("pass", "warn")  # `warn`: a WARN-severity outcome never blocks

_GENERIC = {
    "not_null": "{column} is never null in {model}",
    "unique": "{column} is unique in {model}",
    "accepted_values": "{column} in {model} is one of {values}",
    "relationships": "every {column} in {model} exists in {to}",
    "unique_combination": "one row per {columns} in {model}",
}


def error_tests(manifest: Mapping[str, Any]) -> dict[str, str]:
    """unique_id -> description of every dbt test whose failure blocks a month (severity error)."""
    return {
        unique_id: describe_test(node, manifest)
        for unique_id, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") == "test"
        and str(node.get("config", {}).get("severity") or "error").lower() == "error"
    }


def describe_test(node: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    """The test's own description (its YAML `description` or meta), else one generated from what it
    asserts ("customer_id is never null in marts.customer_monthly"), else its SQL's leading comment."""
    own = (
        node.get("description")
        or node.get("meta", {}).get("description")
        or node.get("config", {}).get("meta", {}).get("description")
        or ""
    ).strip()
    if own:
        return own
    metadata = node.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    template = _GENERIC.get(metadata.get("name", ""))
    if template:
        attached = node.get("attached_node")
        first = next(iter(node.get("depends_on", {}).get("nodes", [])), "")
        return template.format(
            column=kwargs.get("column_name") or kwargs.get("field") or "the key",
            model=_relation(manifest, attached)
            if attached
            else _named_relation(kwargs.get("model", "")) or _relation(manifest, first),
            values=", ".join(map(str, kwargs.get("values", []))),
            to=(_named_relation(kwargs.get("to", "")) or kwargs.get("to", ""))
            + (f".{kwargs['field']}" if kwargs.get("field") else ""),
            columns=", ".join(kwargs.get("columns", [])),
        )
    comment = re.match(r"\s*\{#(.*?)#\}", node.get("raw_code") or "", re.S) or re.match(
        r"(?:\s*--[^\n]*\n?)+", node.get("raw_code") or ""
    )
    if comment:
        text = comment.group(1) if comment.re.groups else comment.group(0).replace("--", " ")
        return " ".join(text.split())
    return node.get("name", "dbt test").replace("_", " ")


def _named_relation(jinja: str) -> str:
    """`ref('fct_charges')` -> `marts.fct_charges` (references point at marts); `source('config', 'customers')` -> `config.customers`."""
    found = re.search(r"source\(\s*['\"]([^'\"]+)['\"]\s*,\s*['\"]([^'\"]+)['\"]\s*\)", jinja)
    if found:
        return f"{found.group(1)}.{found.group(2)}"
    found = re.search(r"ref\(\s*['\"]([^'\"]+)['\"]\s*\)", jinja)
    return f"marts.{found.group(1)}" if found else ""


def _relation(manifest: Mapping[str, Any], unique_id: str) -> str:
    node = manifest.get("nodes", {}).get(unique_id) or manifest.get("sources", {}).get(unique_id) or {}
    return f"{node['schema']}.{node['name']}" if node.get("schema") and node.get("name") else unique_id.split(".")[-1]


def data_fingerprint(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> str:
    """What the month's dbt tests judge: its raw rows and marts, and the partner's configuration
    (pricing rules and customers are tested too)."""
    parts = [fingerprint(con, period)]
    for (table,) in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY 1", [CONFIG_SCHEMA]
    ).fetchall():
        count, total = con.execute(f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {table} t").fetchone()
        parts.append(f"{table}:{count}:{total}")
    return hashlib.sha256(";".join(parts).encode()).hexdigest()


def ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} (
  billing_period DATE NOT NULL,
  fingerprint VARCHAR NOT NULL,
  unique_id VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  failures BIGINT,
  message VARCHAR,
  run_id VARCHAR NOT NULL,
  tested_at TIMESTAMP NOT NULL,
  PRIMARY KEY (billing_period, fingerprint, unique_id)
)"""
    )


def record_results(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, fingerprint: str, run_results: Mapping[str, Any], run_id: str
) -> int:
    """Store the verdict of every test in `run_results` (dbt's run_results.json) as being about the
    month's data with this fingerprint; the number of verdicts stored."""
    ensure_results_table(con)
    tested_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        [
            period.start,
            fingerprint,
            result["unique_id"],
            result.get("status") or "unknown",
            result.get("failures"),
            result.get("message"),
            run_id,
            tested_at,
        ]
        for result in run_results.get("results", [])
        if result.get("unique_id", "").startswith("test.")
    ]
    if rows:
        con.executemany(f"INSERT OR REPLACE INTO {RESULTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(
        f"""DELETE FROM {RESULTS_TABLE} WHERE billing_period = ? AND fingerprint NOT IN (
              SELECT fingerprint FROM {RESULTS_TABLE} WHERE billing_period = ?
              GROUP BY fingerprint ORDER BY max(tested_at) DESC LIMIT {KEPT_FINGERPRINTS})""",
        [period.start, period.start],
    )
    return len(rows)


def judge_tests(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, fingerprint: str, required: Mapping[str, str]
) -> list[str]:
    """The month's problems with its dbt tests on the data with this fingerprint: tests that failed,
    and tests with no verdict on this data (never run on it, or skipped)."""
    found = {}
    exists = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'dbt_test_results'"
    ).fetchone()
    if exists:
        found = {
            unique_id: (status, failures, message)
            for unique_id, status, failures, message in con.execute(
                f"SELECT unique_id, status, failures, message FROM {RESULTS_TABLE} WHERE billing_period = ? AND fingerprint = ?",
                [period.start, fingerprint],
            ).fetchall()
        }
    failed = [
        f"'{description}' failed ({_outcome(*found[unique_id])})"
        for unique_id, description in sorted(required.items(), key=lambda item: item[1])
        if unique_id in found and found[unique_id][0] not in PASSING and found[unique_id][0] != "skipped"
    ]
    missing = [
        description
        for unique_id, description in sorted(required.items(), key=lambda item: item[1])
        if unique_id not in found or found[unique_id][0] == "skipped"
    ]
    problems = failed[:SHOWN_IN_SENTENCE] + (
        [f"and {len(failed) - SHOWN_IN_SENTENCE} more failed"] if len(failed) > SHOWN_IN_SENTENCE else []
    )
    if missing:
        shown = "; ".join(f"'{text}'" for text in missing[:SHOWN_IN_SENTENCE])
        more = f" and {len(missing) - SHOWN_IN_SENTENCE} more" if len(missing) > SHOWN_IN_SENTENCE else ""
        problems.append(
            f"{len(missing)} dbt test(s) have no verdict on the month's current data ({shown}{more}): run the month's transform again"
        )
    return problems


def _outcome(status: str, failures: int | None, message: str | None) -> str:
    if status == "fail" and failures:
        return f"{failures} row(s) break it"
    return " ".join((message or status).split())[:300]
