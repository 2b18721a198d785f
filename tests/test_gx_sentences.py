"""Great Expectations failures in a billing clerk's words (issue 18.8): file, lines, column by
its Partner Center header, and the values, from the suites as committed in expectations/."""

from __future__ import annotations

import pandas as pd

from pipelines.quality.gx_suites import load_suite, outcome_sentences, validate


def _only(suite_name: str, kind: str, column: str) -> dict:
    suite = load_suite(suite_name)
    picked = [e for e in suite["expectations"] if e["type"] == kind and e["kwargs"].get("column") == column]
    assert len(picked) == 1
    return {**suite, "expectations": picked}


def _frame(rows: list[tuple[str, int, object]], column: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"source_file": [r[0] for r in rows], "source_line": [r[1] for r in rows], column: [r[2] for r in rows]}
    )


def test_a_bad_currency_is_named_by_file_lines_and_value():
    bad_x = [12, 40, 41, 50, 77, 78, 90, 91, 99]
    rows = (
        [("x.csv", line, "eur1") for line in bad_x]
        + [("x.csv", n, "EUR") for n in range(2, 12)]
        + [("y.csv", 5, "usd")]
    )
    suite = _only("raw_usage_recon", "expect_column_values_to_match_regex", "currency")
    outcome = validate(_frame(rows, "currency"), suite, len(rows))
    assert outcome_sentences(outcome) == [
        "file 'x.csv', lines 12, 40 and 7 more: Currency is 'eur1', which is not a 3-letter currency code; "
        "file 'y.csv', line 5: Currency is 'usd', which is not a 3-letter currency code"
    ]


def test_empty_values_and_negative_quantities_read_as_sentences():
    rows = [("u.csv", 3, None), ("u.csv", 9, "INV1"), ("u.csv", 4, None)]
    empty = validate(
        _frame(rows, "invoice_number"),
        _only("raw_usage_recon", "expect_column_values_to_not_be_null", "invoice_number"),
        3,
    )
    assert outcome_sentences(empty) == ["file 'u.csv', lines 3 and 4: InvoiceNumber is empty"]
    rows = [("u.csv", 7, -2.5), ("u.csv", 8, 1.0)]
    negative = validate(
        _frame(rows, "overage_quantity"),
        _only("raw_usage_recon", "expect_column_values_to_be_between", "overage_quantity"),
        2,
    )
    assert outcome_sentences(negative) == ["file 'u.csv', line 7: OverageQuantity is '-2.5', below zero"]


def test_row_arithmetic_says_which_figures_disagree():
    rows = [("l.csv", 2, True), ("l.csv", 6, False)]
    suite = load_suite("raw_license_recon_arithmetic")
    suite = {**suite, "expectations": suite["expectations"][:1]}
    outcome = validate(_frame(rows, "subtotal_plus_tax_is_total"), suite, 2)
    assert outcome_sentences(outcome) == [
        "file 'l.csv', line 6: Subtotal + Tax differs from TotalForCustomer by more than a cent"
    ]


def test_a_mart_without_lineage_counts_rows_and_shows_values():
    frame = pd.DataFrame({"customer_id": ["A", "B"], "currency": ["EUR", "eur"]})
    suite = _only("marts_customer_monthly", "expect_column_values_to_match_regex", "currency")
    outcome = validate(frame, suite, 2)
    assert outcome_sentences(outcome) == ["1 row(s): currency is 'eur', which is not a 3-letter currency code"]
