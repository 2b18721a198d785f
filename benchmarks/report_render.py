"""Time to render the reconciliation report of a partner-sized month, charts included.

    .venv/bin/python benchmarks/report_render.py [--customers 60] [--currencies EUR,USD,GBP] [--repeat 5]

The month's data are made up here (no warehouse): 12 months of history per currency, margins of
`--customers` customers per currency, a budget for every third customer. Prints the import time
of the report modules (matplotlib included), the median render in wall and CPU seconds (CPU is
the figure to compare on a shared machine), and the page's size.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date
from decimal import Decimal


def month_data(customers: int, currencies: list[str]):
    from pipelines.periods import BillingPeriod
    from pipelines.quality.report_html import CustomerMargin, MonthFigures, ReportData, UsageBudget

    history, margins, budgets = [], [], []
    for c, currency in enumerate(currencies):
        for month in range(1, 13):
            cost = Decimal(10_000 * (c + 1) + 137 * month) + Decimal("0.123456")
            history.append(
                MonthFigures(
                    date(2026, month, 1),
                    currency,
                    cost,
                    (cost * Decimal("1.12")).quantize(Decimal("0.01")),
                    cost * Decimal("0.12"),
                )
            )
        for i in range(customers):
            cost = Decimal(100 + 37 * i) + Decimal("0.5")
            margin = cost * Decimal(i % 7 - 1) / 10
            name = f"Customer {i:03d} {currency} Łódź & Nguyễn Ltd"
            margins.append(
                CustomerMargin(
                    f"{currency}-{i}", name, currency, cost, (cost + margin).quantize(Decimal("0.01")), margin
                )
            )
            if i % 3 == 0:
                budgets.append(UsageBudget(f"{currency}-{i}", name, currency, cost, Decimal(120 + 30 * i)))
    return ReportData(BillingPeriod.parse("2026-12"), [], [], [], 0, history, margins, budgets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=60)
    parser.add_argument("--currencies", default="EUR,USD,GBP")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    from pipelines.quality.report_html import render_report

    imported = time.perf_counter() - started
    data = month_data(args.customers, args.currencies.split(","))
    times, cpu, html = [], [], ""
    for _ in range(args.repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        html = render_report(data)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    charts = html.count("<svg")
    print(f"import {imported:.2f} s; render median {statistics.median(times):.2f} s wall, {statistics.median(cpu):.2f} s CPU "
          f"({charts} charts, {len(html) / 1024:,.0f} KiB page)")  # fmt: skip


if __name__ == "__main__":
    main()
