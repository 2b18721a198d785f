"""The analysts' copy of the warehouse: only months that passed their blocking checks.

Each publication is a new, never-changed file `published/versions/warehouse-<time>-<run>.duckdb`:
the previous copy is copied byte for byte, the month's rows are replaced from the pipeline's
warehouse, and the result is verified (rows and every DECIMAL total, per table and month:
the month against the pipeline's warehouse, every other month against the previous copy)
before anyone can see it. It is then made unwritable (mode 0444, and immutable where the
system allows: see `immutable.py`), so no client in any mode can change it or leave a WAL, and
`published/warehouse.duckdb` is pointed at it atomically as a second name of the same file (a
hard link, not a symlink; `os.replace`). A reader holding the old copy keeps a consistent view
of it. A WAL or temporary file left beside the stable name by an older copy is removed before
the switch, so DuckDB can never replay it onto the new one; between publications the folder
itself is sealed (mode 0555, immutable where allowed), so nothing can be planted beside it.

A step that fails at any point, or is killed, leaves the stable name on the previous copy.
Each published month keeps the version that passed: re-running a month that then fails leaves
its last good rows in the copy. Configuration tables (no `billing_period`) are the current ones.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipelines.periods import BillingPeriod
from pipelines.publishing import immutable
from pipelines.publishing.figures import PERIOD_COLUMN, differences, table_figures
from pipelines.settings import DEFAULT_DUCKDB_MEMORY_LIMIT
from pipelines.sql import scalar

# Readable by DuckDB 1.1 and later as well as 2.x: analysts' DBeaver drivers and CLIs lag behind.
PUBLISHED_STORAGE_VERSION = "v1.0.0"
PUBLISHED_SCHEMAS = ("raw", "config", "marts", "focus")
PARQUET_SCHEMA = "marts"
LEDGER_SCHEMA, LEDGER_TABLE = "meta", "published_months"
LEDGER = f"{LEDGER_SCHEMA}.{LEDGER_TABLE}"
VERSIONS_DIR = "versions"
PARTIAL_SUFFIX = ".partial"
# What DuckDB or an interrupted publication may leave beside a database file.
LEFTOVER_SUFFIXES = (".wal", ".tmp", PARTIAL_SUFFIX)


class PublishError(Exception):
    """The published copy could not be updated; the one analysts have is untouched."""


class PublishedWithProblem(PublishError):
    """The new copy is published, but what follows it (Parquet files, clean-up) failed."""


@dataclass(frozen=True)
class Publication:
    warehouse: Path
    version: Path
    parquet_dir: Path
    months: list[date]
    tables: dict[str, int]
    immutable: bool


def publish_month(
    source: Path, target: Path, period: BillingPeriod, run_id: str, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
) -> Publication:
    """Point `target` at a new copy of itself in which `period` is as it is now in `source`,
    verified; and write that month's Parquet files of the marts beside it."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _one_publisher(target):
            folders = (target.parent, target.parent / VERSIONS_DIR)
            for folder in folders:
                immutable.writable_folder(folder)
            try:
                outcome = _publish_or_say_why(source, target, period, run_id, memory_limit)
            finally:
                # Nothing can be put beside the copy now: a WAL planted there would be replayed
                # by DuckDB onto every reader's view of it.
                for folder in folders:
                    if folder.is_dir():
                        immutable.seal_folder(folder)
    except OSError as error:
        outcome = f"Publishing {period} failed: {_reason(error)}."
    if isinstance(outcome, Publication):
        return outcome
    raise PublishError(f"{outcome} {_unchanged(target)}")


def _publish_or_say_why(
    source: Path, target: Path, period: BillingPeriod, run_id: str, memory_limit: str
) -> Publication | str:
    """The publication, or the sentence saying why there is none (its leftovers removed)."""
    try:
        return _publish(source, target, period, run_id, memory_limit)
    except PublishedWithProblem:
        raise
    except PublishError as error:
        failure = str(error)
    except (OSError, duckdb.Error) as error:
        failure = f"Publishing {period} failed: {_reason(error)}."
    except BaseException:
        _remove_partials(target.parent, target.parent / VERSIONS_DIR)
        raise
    _remove_partials(target.parent, target.parent / VERSIONS_DIR)
    return failure


def _publish(source: Path, target: Path, period: BillingPeriod, run_id: str, memory_limit: str) -> Publication:
    versions = target.parent / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    _remove_partials(target.parent, versions)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version = versions / f"{target.stem}-{stamp}-{run_id[:8]}{target.suffix}"
    partial = version.with_name(f".{version.name}{PARTIAL_SUFFIX}")
    _remove_leftovers(target)
    previous = target if target.exists() else None
    if previous:
        _check_unchanged(previous, versions, _copy_with_digest(previous, partial))
    months, tables, kept = _update_copy(source, partial, period, run_id, memory_limit)
    _verify(source, kept, partial, period, months, memory_limit)
    parquet = _stage_parquet(partial, target.parent / "parquet", period)
    digest = _copy_with_digest(partial, None)
    immutable.read_only_mode(partial)
    os.replace(partial, version)
    fingerprint = _fingerprint(version)
    fingerprint.write_text(digest + "\n", encoding="ascii")
    immutable.lock(fingerprint)
    _switch(target, version)
    try:
        locked = immutable.lock(version)
        _swap_in_parquet(parquet, target.parent / "parquet")
        _remove_older(target, versions, keep={version, fingerprint})
        _sync_directory(target.parent)
    except OSError as error:
        raise PublishedWithProblem(
            f"{period} is published in {target}, but finishing the publication failed: {_reason(error)}; "
            "its Parquet files may still be the previous ones until the month is published again."
        ) from None
    return Publication(target, version, target.parent / "parquet", months, tables, locked)


@contextmanager
def _one_publisher(target: Path):
    """Publications queue behind one another: each must start from the last one's copy. The
    lock is the kernel's, so a killed publisher never leaves it held."""
    with target.with_name(f".{target.name}.publishing.lock").open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        yield


def _switch(target: Path, version: Path) -> None:
    """The stable name becomes the new version's second name, in one rename."""
    link = target.with_name(f".{target.name}.link{PARTIAL_SUFFIX}")
    link.unlink(missing_ok=True)
    os.link(version, link)
    _remove_leftovers(target)
    immutable.unlock(target)  # an immutable name cannot be renamed over
    os.replace(link, target)


def _remove_partials(published: Path, versions: Path) -> None:
    """What a killed publication left: never shown to anyone, removed before the next."""
    for folder in (published, versions, published / "parquet"):
        if folder.is_dir():
            for leftover in folder.rglob(f"*{PARTIAL_SUFFIX}"):
                immutable.writable_folder(leftover.parent)
                immutable.remove(leftover)


def _swap_in_parquet(staged: list[tuple[Path, Path]], folder: Path) -> None:
    """Each staged Parquet file in place of its final name, then every file and folder of the
    Parquet tree unwritable (files 0444 and immutable where allowed, folders 0555): an analyst
    can read them, not change, add or remove one."""
    for partial, final in staged:
        immutable.unlock(final)  # an immutable name cannot be renamed over
        os.replace(partial, final)
    immutable.seal_tree(folder)


def _remove_older(target: Path, versions: Path, keep: set[Path]) -> None:
    """Older versions and their leftovers; readers holding one keep their open file."""
    for path in versions.iterdir():
        if path not in keep and path.is_file():
            immutable.remove(path)
    _remove_leftovers(target)


def _remove_leftovers(target: Path) -> None:
    """A WAL beside the stable name (left by a read-write session on a copy published before
    copies were unwritable) would be replayed by DuckDB onto whatever file bears the name."""
    for suffix in LEFTOVER_SUFFIXES:
        immutable.remove(target.with_name(target.name + suffix))


def _fingerprint(version: Path) -> Path:
    return version.with_name(version.name + ".sha256")


def _copy_with_digest(source: Path, copy: Path | None) -> str:
    """sha256 of `source`, copied to `copy` on the way (flushed to disk) when one is given."""
    digest = hashlib.sha256()
    with source.open("rb") as reading, copy.open("wb") if copy else open(os.devnull, "wb") as writing:
        while chunk := reading.read(1 << 20):
            digest.update(chunk)
            writing.write(chunk)
        writing.flush()
        if copy:
            os.fsync(writing.fileno())
    return digest.hexdigest()


def _check_unchanged(previous: Path, versions: Path, digest: str) -> None:
    """The copy a publication starts from is byte for byte the one that was published."""
    inode = previous.stat().st_ino
    recorded = next(
        (
            _fingerprint(path)
            for path in versions.iterdir()
            if path.suffix == previous.suffix and path.stat().st_ino == inode
        ),
        None,
    )
    if recorded is None or not recorded.is_file():
        return  # published by an earlier release, before copies were fingerprinted
    if recorded.read_text(encoding="ascii").strip() != digest:
        raise PublishError(
            f"The analysts' copy {previous} was changed after it was published (its bytes are no longer the ones "
            "published): someone lifted its protection and wrote to it. Nothing was published; to rebuild it from "
            f"the pipeline's warehouse, move the folder {previous.parent} aside and run each published month again."
        )


def _sync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _update_copy(
    source: Path, partial: Path, period: BillingPeriod, run_id: str, memory_limit: str
) -> tuple[list[date], dict[str, int], dict[str, tuple[list, dict]]]:
    """Writes the month into the copy; returns the months it holds, each table's rows, and each
    table's columns and figures as the previous copy had them (what the other months must keep)."""
    with duckdb.connect(config={"memory_limit": memory_limit}) as con:
        con.execute("ATTACH ? AS src (READ_ONLY)", [str(source)])
        # A new file gets the old storage version; an existing one keeps the version it has.
        con.execute(f"ATTACH ? AS pub (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')", [str(partial)])
        kept = {
            table: (_columns(con, "pub", table), table_figures(con, "pub", table)) for table in _base_tables(con, "pub")
        }
        con.execute("BEGIN")
        months = _record_month(con, period, run_id)
        tables = _base_tables(con, "src")
        for stale in set(_base_tables(con, "pub")) - set(tables) - {LEDGER}:
            con.execute(f"DROP TABLE pub.{stale}")
        counts = {table: _replace_month(con, table, period) for table in tables}
        _copy_views(con)
        con.execute("COMMIT")
        con.execute("CHECKPOINT pub")
        con.execute("DETACH pub")
    # Everything is in the file itself: a WAL left here would not travel with it.
    partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
    return months, counts, kept


def _verify(
    source: Path,
    kept: dict[str, tuple[list, dict]],
    partial: Path,
    period: BillingPeriod,
    months: list[date],
    memory_limit: str,
) -> None:
    """The new copy holds the month exactly as the pipeline's warehouse, and every other
    month exactly as the previous copy: rows and DECIMAL totals per table."""
    problems: list[str] = []
    with duckdb.connect(config={"memory_limit": memory_limit}) as con:
        con.execute("ATTACH ? AS src (READ_ONLY)", [str(source)])
        con.execute("ATTACH ? AS pub (READ_ONLY)", [str(partial)])
        for table in _base_tables(con, "src"):
            published = table_figures(con, "pub", table, months)
            if None in published:  # configuration: the current one, whole
                problems += differences(table, table_figures(con, "src", table), published, "the pipeline's warehouse")
                continue
            problems += differences(
                table,
                table_figures(con, "src", table, [period.start]),
                {period.start: published.get(period.start, {"rows": 0})},
                "the pipeline's warehouse",
            )
            others = [month for month in months if month != period.start]
            if not others:
                continue
            reshaped = table not in kept or kept[table][0] != _columns(con, "src", table)
            if reshaped:
                expected = table_figures(con, "src", table, others)
            else:
                expected = {month: figures for month, figures in kept[table][1].items() if month in others}
            actual = {month: figures for month, figures in published.items() if month != period.start}
            problems += differences(
                table, expected, actual, "the pipeline's warehouse" if reshaped else "the previous copy"
            )
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise PublishError(
            f"The new analysts' copy for {period} failed its verification, so it was not published: {shown}."
        )


def _record_month(con: duckdb.DuckDBPyConnection, period: BillingPeriod, run_id: str) -> list[date]:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS pub.{LEDGER_SCHEMA}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS pub.{LEDGER} "
        f"({PERIOD_COLUMN} DATE PRIMARY KEY, published_at TIMESTAMPTZ NOT NULL, run_id VARCHAR NOT NULL)"
    )
    con.execute(f"DELETE FROM pub.{LEDGER} WHERE {PERIOD_COLUMN} = ?", [period.start])
    con.execute(f"INSERT INTO pub.{LEDGER} VALUES (?, ?, ?)", [period.start, datetime.now(UTC), run_id])
    return [row[0] for row in con.execute(f"SELECT {PERIOD_COLUMN} FROM pub.{LEDGER} ORDER BY 1").fetchall()]


def _base_tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name IN ? ORDER BY 1",
        [database, [*PUBLISHED_SCHEMAS, LEDGER_SCHEMA]],
    ).fetchall()
    return [row[0] for row in rows if database != "src" or row[0] != LEDGER]


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, name],
    ).fetchall()


def _replace_month(con: duckdb.DuckDBPyConnection, table: str, period: BillingPeriod) -> int:
    """The month's rows of a monthly table, or the whole of a configuration table."""
    schema, _ = table.split(".")
    columns = _columns(con, "src", table)
    monthly = PERIOD_COLUMN in {name for name, _ in columns}
    if monthly and _columns(con, "pub", table) == columns:
        con.execute(f"DELETE FROM pub.{table} WHERE {PERIOD_COLUMN} = ?", [period.start])
        con.execute(f"INSERT INTO pub.{table} SELECT * FROM src.{table} WHERE {PERIOD_COLUMN} = ?", [period.start])
    else:
        # New, reshaped or configuration table: start it afresh. A reshaped monthly table holds
        # the published months as the warehouse has them now.
        con.execute(f"CREATE SCHEMA IF NOT EXISTS pub.{schema}")
        con.execute(f"DROP TABLE IF EXISTS pub.{table}")
        where = f" WHERE {PERIOD_COLUMN} IN (SELECT {PERIOD_COLUMN} FROM pub.{LEDGER})" if monthly else ""
        con.execute(f"CREATE TABLE pub.{table} AS SELECT * FROM src.{table}{where}")
    return scalar(con, f"SELECT count(*) FROM pub.{table}")


def _copy_views(con: duckdb.DuckDBPyConnection) -> None:
    """Views are re-created over the published tables (their SQL names tables by schema only)."""
    views = con.execute(
        "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE database_name = 'src' AND NOT internal AND schema_name IN ?",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    con.execute("USE pub")
    for schema, name, sql in views:
        con.execute(f"DROP VIEW IF EXISTS {schema}.{name}")
        con.execute(sql)
    con.execute("USE memory")


def _stage_parquet(published: Path, folder: Path, period: BillingPeriod) -> list[tuple[Path, Path]]:
    """`parquet/<mart>/<YYYY-MM>.parquet` for the month of each monthly mart, and
    `parquet/<view>.parquet` for views over the history, written beside their final names;
    they replace those only once the copy they come from is published."""
    month = period.key
    staged = []
    with duckdb.connect(str(published), read_only=True) as con:
        relations = con.execute(
            """SELECT t.table_name, bool_or(c.column_name = ?) AS monthly
               FROM duckdb_tables() t JOIN duckdb_columns() c USING (database_name, schema_name, table_name)
               WHERE t.schema_name = ? GROUP BY ALL
               UNION ALL
               SELECT view_name, false FROM duckdb_views() WHERE schema_name = ? AND NOT internal""",
            [PERIOD_COLUMN, PARQUET_SCHEMA, PARQUET_SCHEMA],
        ).fetchall()
        for name, monthly in relations:
            target = folder / name / f"{month}.parquet" if monthly else folder / f"{name}.parquet"
            immutable.writable_folder(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            immutable.writable_folder(target.parent)
            partial = target.with_name(f".{target.name}{PARTIAL_SUFFIX}")
            where = f" WHERE {PERIOD_COLUMN} = DATE '{period.start.isoformat()}'" if monthly else ""
            quoted = str(partial).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {PARQUET_SCHEMA}.{name}{where}) TO '{quoted}' (FORMAT parquet)")
            staged.append((partial, target))
    return staged


def published_months(target: Path) -> list[date] | None:
    """The months the analysts' copy holds now ([] when there is no copy yet, None when it
    cannot be read at the moment, e.g. a client holds it locked)."""
    if not target.exists():
        return []
    try:
        with duckdb.connect(str(target), read_only=True) as con:
            return [row[0] for row in con.execute(f"SELECT {PERIOD_COLUMN} FROM {LEDGER} ORDER BY 1").fetchall()]
    except duckdb.Error:
        return None


def _unchanged(target: Path) -> str:
    if not target.exists():
        return "There is no analysts' copy yet; none was created."
    months = published_months(target)
    if months is None:
        return f"The analysts' copy {target} is unchanged."
    held = ", ".join(f"{month:%Y-%m}" for month in months) or "no month"
    return f"The analysts' copy {target} is unchanged: it still holds {held}."


def _reason(error: BaseException) -> str:
    """The library's message in one line, without its class name, JSON or a trailing full stop."""
    if getattr(error, "errno", None) == errno.ENOSPC or "No space left on device" in str(error):
        return "the disk holding the analysts' copy is full (no space left on device)"
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror.lower()}{where}"
    text = str(error).strip()
    inner = re.search(r'"exception_message":\s*("(?:[^"\\]|\\.)*")', text)
    if inner:
        text = json.loads(inner.group(1))
    text = text.splitlines()[0] if text else type(error).__name__
    for prefix in ("IO Error: ", "Invalid Input Error: ", "Catalog Error: ", "Binder Error: "):
        text = text.removeprefix(prefix)
    return text.rstrip(".")
