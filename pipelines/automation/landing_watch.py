"""Which landing months are ready to run: files present, unchanged for a while, not yet run.

A month's fingerprint is the names, sizes and modification times of its files: any file added,
replaced or removed gives a new fingerprint, hence a new run key, hence one new run. An issued
month is never run by the sensor: its files are compared by content with those it was issued
from (`content_fingerprint`), and a difference is a correction pending, for a person to run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.month import landed_files
from pipelines.periods import PERIOD_PATTERN, BillingPeriod


@dataclass(frozen=True)
class LandedMonth:
    period: BillingPeriod
    fingerprint: str
    newest_change: float
    files: int

    @property
    def run_key(self) -> str:
        return f"{self.period}:{self.fingerprint}"

    def settled(self, now: float, settle_seconds: float) -> bool:
        """Still being copied if any file changed within the settle window."""
        return now - self.newest_change >= settle_seconds


def content_fingerprint(folder: Path) -> str | None:
    """The names and SHA-256 of the month's landing files: unchanged by a copy or a touch."""
    files = landed_files(folder) if folder.is_dir() else []
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        content = hashlib.sha256()
        with path.open("rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                content.update(block)
        digest.update(f"{path.name}\0{content.hexdigest()}\n".encode())
    return digest.hexdigest()[:32]


def landed_months(landing_root: Path) -> list[LandedMonth]:
    months = []
    folders = (
        sorted(p for p in landing_root.iterdir() if p.is_dir() and PERIOD_PATTERN.match(p.name))
        if landing_root.is_dir()
        else []
    )
    for folder in folders:
        stats = [(path.name, path.stat()) for path in landed_files(folder)]
        if not stats:
            continue
        digest = hashlib.sha256()
        for name, stat in stats:
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        months.append(
            LandedMonth(
                BillingPeriod.parse(folder.name),
                digest.hexdigest()[:16],
                max(stat.st_mtime for _, stat in stats),
                len(stats),
            )
        )
    return months
