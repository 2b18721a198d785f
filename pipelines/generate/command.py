"""`csp-recon generate`: sample Partner Center files with a matching invoice summary."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from pipelines.generate.daily_file import DEFAULT_RESOURCES_PER_LINE
from pipelines.generate.months import COMMERCES, HEADER_FORMS, GeneratedNceInvoice, GeneratedUnbilled, generate
from pipelines.periods import BillingPeriod


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="folder that receives a <YYYY-MM> folder per month")
    parser.add_argument("--period", required=True, metavar="YYYY-MM", help="first billing month")
    parser.add_argument("--months", type=int, default=1, metavar="N", help="consecutive months (default 1)")
    parser.add_argument(
        "--customers", type=int, default=12, metavar="N", help="customers over all currencies (default 12)"
    )
    parser.add_argument(
        "--license-rows",
        type=int,
        default=200,
        metavar="N",
        help="license (legacy) or seat (NCE) rows per month and currency (default 200)",
    )
    parser.add_argument(
        "--usage-rows",
        type=int,
        default=1000,
        metavar="N",
        help="usage (legacy) or Azure plan (NCE) rows per month and currency (default 1000)",
    )
    parser.add_argument(
        "--currencies", default="EUR,USD", metavar="EUR,USD", help="billing currencies, one invoice each (default both)"
    )
    parser.add_argument("--seed", type=int, default=7, metavar="S", help="same seed, same bytes (default 7)")
    parser.add_argument(
        "--indirect", action="store_true", help="license files as an indirect provider gets them (with ResellerMpnId)"
    )
    parser.add_argument(
        "--commerce",
        choices=COMMERCES,
        default="nce",
        help="nce: the new-commerce invoice reconciliation file and G-invoice summary (default);"
        " legacy: license- and usage-based files and the D-invoice summary",
    )
    parser.add_argument(
        "--header-form",
        choices=HEADER_FORMS,
        default="pascal",
        help="NCE headers PascalCase (default), renamed camelCase (Aug 2023), or mixed (one file of each)",
    )
    parser.add_argument(
        "--daily-resources",
        type=int,
        default=DEFAULT_RESOURCES_PER_LINE,
        metavar="N",
        help="NCE daily rated usage: resources per Azure plan line and day"
        f" (default {DEFAULT_RESOURCES_PER_LINE}; rows = Azure plan lines x days x N)",
    )
    parser.add_argument(
        "--unbilled-through",
        type=_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="NCE: also write the open month's unbilled daily rated usage (blank InvoiceNumber) from its 1st"
        " through this day, alone in that month's folder (no recon file, no invoice summary)",
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a day: write it as YYYY-MM-DD, e.g. 2026-11-17") from None


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        months = generate(
            out_dir=args.out,
            period=BillingPeriod.parse(args.period),
            months=args.months,
            customers=args.customers,
            license_rows=args.license_rows,
            usage_rows=args.usage_rows,
            currencies=tuple(code.strip().upper() for code in args.currencies.split(",") if code.strip()),
            seed=args.seed,
            indirect=args.indirect,
            commerce=args.commerce,
            header_form=args.header_form,
            daily_resources=args.daily_resources,
            unbilled_through=args.unbilled_through,
        )
    except ValueError as error:
        print(f"csp-recon generate: {error}", file=sys.stderr)
        return 2
    rows = 0
    for month in months:
        print(f"{month.period}  {month.directory}")
        for invoice in month.invoices:
            if isinstance(invoice, GeneratedUnbilled):
                d = invoice.daily_totals
                rows += d.rows
                print(
                    f"  open month, {invoice.currency}: {d.rows} unbilled daily usage rows through {invoice.through.isoformat()}"
                    f" ({invoice.header_form} header); pre-tax so far {d.pretax:.2f}"
                )
                continue
            if isinstance(invoice, GeneratedNceInvoice):
                t = invoice.totals
                rows += t.rows
                print(
                    f"  {invoice.invoice_number} {invoice.currency}: {t.rows} lines ({invoice.header_form} header);"
                    f" charges {t.charges:.2f}, credits {t.credits:.2f}, subtotal {t.subtotal:.2f},"
                    f" tax {t.tax:.2f}, total {t.subtotal + t.tax:.2f}"
                )
                if invoice.daily_totals is not None:
                    rows += invoice.daily_totals.rows
                    print(
                        f"    daily rated usage: {invoice.daily_totals.rows} rows, pre-tax {invoice.daily_totals.pretax:.6f}"
                    )
                continue
            rows += invoice.license_rows + invoice.usage_rows
            print(
                f"  {invoice.invoice_number} {invoice.currency}: {invoice.license_rows} license rows,"
                f" {invoice.usage_rows} usage rows; license {invoice.license_charges}, usage {invoice.usage_charges},"
                f" tax {invoice.tax}, total {invoice.total}"
            )
    elapsed = time.perf_counter() - started
    print(f"Wrote {sum(len(month.files) for month in months)} files, {rows} rows, in {elapsed:.1f} s.")
    return 0
