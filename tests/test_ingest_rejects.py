"""Typed parsing: good lines load with exact types, bad lines go to raw.rejected_rows with the
file, the line number, the column, a reason a billing clerk reads and the raw line; nothing is
dropped (rows read = loaded + rejected, per file)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from corpus import (
    LICENSE_HEADER,
    PERIOD,
    USAGE_HEADER,
    csv_line,
    csv_text,
    license_row,
    load,
    manifest,
    query,
    raw_rows,
    rejected,
    summary_row,
    usage_row,
    write_csv,
    write_summary,
    write_text,
)

from pipelines.ingest.errors import IngestError

CAST_HINT = "(use a point for decimals and no thousands separators)"
NOT_A_NUMBER = "{column} is '{value}', which is not a number " + CAST_HINT
NOT_A_DATE = (
    "{column} is '{value}', which is not a date (Partner Center writes M/D/YYYY, e.g. 10/1/2026,"
    " or ISO 8601, e.g. 2026-10-01T00:00:00Z)"
)
TOO_MANY = "the line has more values than the {n} columns of the header (an unquoted comma inside a value?)"
TOO_FEW = "the line has fewer values than the {n} columns of the header (the line is cut off)"
UNCLOSED = "the line is cut off: a quoted value is never closed (the file may be truncated)"


def _line(row: dict, header=LICENSE_HEADER, **changed: str) -> str:
    return csv_line([changed.get(name, row[name]) for name in header])


def test_us_dates_with_and_without_time_load_as_timestamps(tmp_path):
    month = tmp_path / "landing" / PERIOD
    written = [
        ("10/1/2026", "10/31/2026"),
        ("10/1/2026 0:00", "10/31/2026 23:59"),
        ("10/01/2026 00:00:00", "10/31/2026 23:59:59"),
        ("1/5/2026 7:05", "12/31/2026"),  # an annual line reaching into the month
    ]
    lic = [
        license_row(
            f"c-{i}",
            "A",
            "1.00",
            "0.00",
            line=i,
            ChargeStartDate=start,
            ChargeEndDate=end,
            SubscriptionStartDate="2/29/2024",
            SubscriptionEndDate="2/28/2027",
        )
        for i, (start, end) in enumerate(written)
    ]
    use = [
        usage_row(
            "c-0",
            "A",
            "D1",
            "1.00",
            "0.00",
            ChargeStartDate="10/1/2026",
            ChargeEndDate="10/31/2026 23:59",
            UsageDate="10/9/2026 13:45",
        )
    ]
    write_csv(month / "lic.csv", LICENSE_HEADER, lic)
    write_csv(month / "use.csv", [*USAGE_HEADER, "UsageDate"], use)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", lic, use)])

    load(tmp_path)

    assert rejected(tmp_path) == []
    assert [(r["charge_start_date"], r["charge_end_date"]) for r in raw_rows(tmp_path, "raw.license_recon")] == [
        (datetime(2026, 10, 1), datetime(2026, 10, 31)),
        (datetime(2026, 10, 1), datetime(2026, 10, 31, 23, 59)),
        (datetime(2026, 10, 1), datetime(2026, 10, 31, 23, 59, 59)),
        (datetime(2026, 1, 5, 7, 5), datetime(2026, 12, 31)),
    ]
    assert {r["subscription_start_date"] for r in raw_rows(tmp_path, "raw.license_recon")} == {datetime(2024, 2, 29)}
    usage = raw_rows(tmp_path, "raw.usage_recon")[0]
    assert (usage["charge_start_date"], usage["charge_end_date"], usage["usage_date"]) == (
        datetime(2026, 10, 1),
        datetime(2026, 10, 31, 23, 59),
        datetime(2026, 10, 9, 13, 45),
    )


@pytest.fixture
def broken_license_file(tmp_path):
    """One license file with every kind of bad line, between good ones. Returns the expected
    rejects as (line, column, reason, raw line) and the rows that must load."""
    rows = [license_row(f"c-{i}", "Société Dupont, SA", f"{i}.25", "0.05", line=i) for i in range(20)]
    lines = [csv_text(LICENSE_HEADER, [])]  # line 1
    good, bad = [], []

    def add(text: str, row: dict | None = None, column: str | None = None, reason: str | None = None) -> None:
        lines.append(text)
        number = len(lines)
        if reason is None:
            good.append((number, row))
        else:
            bad.append((number, column, reason, text.rstrip("\r\n")))

    add(_line(rows[0]), rows[0])  # 2
    add(
        _line(rows[1], Subtotal="12,50"),
        column="Subtotal",
        reason=NOT_A_NUMBER.format(column="Subtotal", value="12,50"),
    )  # 3 quoted
    unquoted = _line(rows[2]).replace(",2.25,0.05,", ",12,50,0.05,")
    assert unquoted.count(",") == _line(rows[2]).count(",") + 1
    add(unquoted, reason=TOO_MANY.format(n=27))  # 4: unquoted, so one value too many
    add(
        _line(rows[3], UnitPrice="N/A"), column="UnitPrice", reason=NOT_A_NUMBER.format(column="UnitPrice", value="N/A")
    )  # 5
    add(
        _line(rows[4], TotalForCustomer="1,234.50"),
        column="TotalForCustomer",
        reason=NOT_A_NUMBER.format(column="TotalForCustomer", value="1,234.50"),
    )  # 6
    add(
        _line(rows[5], ChargeEndDate="N/A"),
        column="ChargeEndDate",
        reason=NOT_A_DATE.format(column="ChargeEndDate", value="N/A"),
    )  # 7
    lines.append("\r\n")  # 8: a blank line is no record
    add(_line(rows[6]), rows[6])  # 9
    add(
        _line(rows[7], ChargeStartDate="2026-10-1st"),
        column="ChargeStartDate",
        reason=NOT_A_DATE.format(column="ChargeStartDate", value="2026-10-1st"),
    )  # 10
    add(
        _line(rows[8], ChargeStartDate="31/10/2026"),
        column="ChargeStartDate",
        reason=NOT_A_DATE.format(column="ChargeStartDate", value="31/10/2026"),
    )  # 11
    add(_line(rows[9], CustomerId=""), column="CustomerId", reason="CustomerId is empty")  # 12
    add(csv_line([rows[10][name] for name in LICENSE_HEADER[:-2]]), reason=TOO_FEW.format(n=27))  # 13
    add(
        _line(rows[11], Quantity="seven"),
        column="Quantity",
        reason="Quantity is 'seven', which is not a whole number " + CAST_HINT,
    )  # 14
    add(
        _line(rows[12], UnitPrice="N/A", Subtotal="12,50"),
        column="UnitPrice",
        reason=NOT_A_NUMBER.format(column="UnitPrice", value="N/A")
        + "; "
        + NOT_A_NUMBER.format(column="Subtotal", value="12,50"),
    )  # 15
    add(_line(rows[13]), rows[13])  # 16
    cut = _line(rows[14])[:140]  # 17: the download stopped mid-line
    add(cut, reason=TOO_FEW.format(n=27))
    text = "".join(lines)
    month = tmp_path / "landing" / PERIOD
    write_text(month / "Recon.csv", text)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", rows)])
    return tmp_path, good, bad


def test_bad_lines_are_rejected_with_file_line_column_reason_and_raw_line(broken_license_file):
    data_dir, good, bad = broken_license_file
    load(data_dir)

    assert rejected(data_dir) == [("Recon.csv", line, column, reason, raw) for line, column, reason, raw in bad]
    assert query(data_dir, "SELECT DISTINCT file_kind, billing_period::VARCHAR FROM raw.rejected_rows") == [
        ("license_recon", "2026-10-01")
    ]
    loaded = raw_rows(data_dir, "raw.license_recon")
    assert [(r["source_line"], r["customer_id"]) for r in loaded] == [(line, row["CustomerId"]) for line, row in good]
    assert sum(r["subtotal"] for r in loaded) == sum(Decimal(row["Subtotal"]) for _, row in good)


def test_nothing_is_dropped_rows_read_is_loaded_plus_rejected(broken_license_file):
    data_dir, good, bad = broken_license_file
    load(data_dir)

    entry = manifest(data_dir)["Recon.csv"]
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_rejected"]) == (
        len(good) + len(bad),
        len(good),
        len(bad),
    )
    assert entry["rows_read"] == 15  # the 16 lines after the header, less the blank one
    assert len(raw_rows(data_dir, "raw.license_recon")) == entry["rows_loaded"]
    assert len(rejected(data_dir)) == entry["rows_rejected"]
    assert entry["sha256"] == query(data_dir, "SELECT DISTINCT file_sha256 FROM raw.rejected_rows")[0][0]


CUT_OFF = {
    "mid-value, no line end": (lambda line: line[:200], TOO_FEW.format(n=35)),
    "mid-value, with line end": (lambda line: line[:200] + "\r\n", TOO_FEW.format(n=35)),
    "inside a quoted name": (lambda line: line[: line.index('"') + 5], UNCLOSED),
    "inside a quoted name, with line end": (lambda line: line[: line.index('"') + 5] + "\r\n", UNCLOSED),
    "after one value": (lambda line: line[:10], TOO_FEW.format(n=35)),
}


@pytest.mark.parametrize("case", list(CUT_OFF))
def test_a_cut_off_last_line_is_rejected_once_with_one_plain_reason(tmp_path, case):
    cut, reason = CUT_OFF[case]
    rows = [usage_row(f"c-{i}", "Zoë, Ltd", "D1", f"{i}.10", "0.00", line=i) for i in range(3)]
    month = tmp_path / "landing" / PERIOD
    last = cut(csv_line([rows[2][name] for name in USAGE_HEADER]))
    write_text(month / "usage.csv", csv_text(USAGE_HEADER, rows[:2]) + last)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", [], rows)])

    load(tmp_path)

    assert rejected(tmp_path) == [("usage.csv", 4, None, reason, last.rstrip("\r\n"))]
    entry = manifest(tmp_path)["usage.csv"]
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_rejected"]) == (3, 2, 1)
    assert [r["pretax_charges"] for r in raw_rows(tmp_path, "raw.usage_recon")] == [Decimal("0.10"), Decimal("1.10")]


def test_required_values_left_blank_are_rejected_in_usage_files_too(tmp_path):
    rows = [usage_row("c-1", "A", "D1", "1.00", "0.10", line=i) for i in range(5)]
    month = tmp_path / "landing" / PERIOD
    text = csv_text(USAGE_HEADER, rows[:1])
    text += _line(rows[1], USAGE_HEADER, InvoiceNumber="")
    text += _line(rows[2], USAGE_HEADER, PretaxCharges="")
    text += _line(rows[3], USAGE_HEADER, PretaxCharges="N/A")
    text += _line(rows[4], USAGE_HEADER, Currency="")
    write_text(month / "u.csv", text)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", [], rows)])

    load(tmp_path)

    assert [(line, column, reason) for _, line, column, reason, _ in rejected(tmp_path)] == [
        (3, "InvoiceNumber", "InvoiceNumber is empty"),
        (4, "PretaxCharges", "PretaxCharges is empty"),
        (5, "PretaxCharges", NOT_A_NUMBER.format(column="PretaxCharges", value="N/A")),
        (6, "Currency", "Currency is empty"),
    ]
    assert [r["source_line"] for r in raw_rows(tmp_path, "raw.usage_recon")] == [2]


def test_reasons_name_the_column_as_the_file_spells_it(tmp_path):
    rows = [license_row("c-1", "A", "1.00", "0.10", line=i) for i in range(3)]
    written = [name.lower() for name in LICENSE_HEADER]
    month = tmp_path / "landing" / PERIOD
    text = csv_text(LICENSE_HEADER, rows[:1], written_header=written)
    text += _line(rows[1], Subtotal="12,50")
    text += _line(rows[2], ChargeStartDate="N/A")
    write_text(month / "l.csv", text)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", rows)])

    load(tmp_path)

    assert [(line, column, reason) for _, line, column, reason, _ in rejected(tmp_path)] == [
        (3, "subtotal", NOT_A_NUMBER.format(column="subtotal", value="12,50")),
        (4, "chargestartdate", NOT_A_DATE.format(column="chargestartdate", value="N/A")),
    ]


def test_a_bad_amount_in_the_invoice_summary_stops_the_month_naming_file_line_and_column(tmp_path):
    rows = [license_row("c-1", "A", "1.00", "0.10")]
    month = tmp_path / "landing" / PERIOD
    write_csv(month / "l.csv", LICENSE_HEADER, rows)
    first, second = summary_row("D1", "EUR", rows), summary_row("D2", "USD")
    second["Total"] = "12,50"
    write_summary(month / "figures.csv", [first, second])

    with pytest.raises(IngestError) as failure:
        load(tmp_path)

    assert (failure.value.file_name, failure.value.line, failure.value.column) == ("figures.csv", 3, "Total")
    assert str(failure.value).startswith("file 'figures.csv', line 3, column 'Total': '12,50' is not an amount")


# ---------------------------------------------------------------------------------------------
# Known gaps: these fail today and should pass once fixed (strict: an unexpected pass fails).


def test_line_numbers_stay_right_after_a_value_holding_a_line_break(tmp_path):
    rows = [license_row(f"c-{i}", "A", "1.00", "0.10", line=i) for i in range(4)]
    month = tmp_path / "landing" / PERIOD
    text = csv_text(LICENSE_HEADER, rows[:1])  # line 2
    text += _line(rows[1], CustomerName="Two\nLines, Inc")  # lines 3-4: one record
    text += _line(rows[2], ChargeEndDate="31/10/2026")  # line 5
    text += _line(rows[3])  # line 6
    write_text(month / "l.csv", text)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", rows)])

    load(tmp_path)

    physical = text.splitlines()  # as an editor numbers them: the break inside the name starts a line
    [(_, line, _, _, raw)] = rejected(tmp_path)
    assert line == 5
    assert raw == physical[line - 1], "the raw line shown must be the line named"
    assert "c-2" in raw
    assert [r["customer_id"] for r in raw_rows(tmp_path, "raw.license_recon")] == ["c-0", "c-1", "c-3"]


def test_lines_after_values_holding_line_breaks_keep_their_numbers(tmp_path):
    rows = [license_row(f"c-{i}", "A", "1.00", "0.10", line=i) for i in range(5)]
    month = tmp_path / "landing" / PERIOD
    text = csv_text(LICENSE_HEADER, rows[:1])  # line 2
    text += _line(rows[1], CustomerName="Three\nLines\nInc")  # lines 3-5
    text += csv_line([rows[2][name] for name in LICENSE_HEADER[:-2]])  # line 6: two values short
    text += _line(rows[3], OfferName="Two\nLines")  # lines 7-8
    text += _line(rows[4])  # line 9
    write_text(month / "l.csv", text)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", rows)])

    load(tmp_path)

    assert [(line, reason) for _, line, _, reason, _ in rejected(tmp_path)] == [
        (6, TOO_FEW.format(n=len(LICENSE_HEADER)))
    ]
    loaded = raw_rows(tmp_path, "raw.license_recon")
    assert [(r["customer_id"], r["source_line"]) for r in loaded] == [("c-0", 2), ("c-1", 3), ("c-3", 7), ("c-4", 9)]
    assert manifest(tmp_path)["l.csv"]["rows_read"] == 5


def test_values_the_types_cannot_hold_exactly_are_rejected_not_rounded(tmp_path):
    rows = [license_row("c-1", "A", "1.00", "0.10", line=i) for i in range(3)]
    month = tmp_path / "landing" / PERIOD
    text = csv_text(LICENSE_HEADER, rows[:1])
    text += _line(rows[1], Quantity="2.5")
    text += _line(rows[2], Amount="0.1234567")
    write_text(month / "l.csv", text)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", rows)])

    load(tmp_path)

    assert [(line, column) for _, line, column, _, _ in rejected(tmp_path)] == [(3, "Quantity"), (4, "Amount")]


def test_a_rejected_record_holding_a_carriage_return_or_a_line_break_is_stored_whole(tmp_path):
    rows = [license_row(f"c-{i}", "A", "1.00", "0.10", line=i) for i in range(4)]
    month = tmp_path / "landing" / PERIOD
    written = [
        _line(rows[0]),  # line 2
        _line(rows[1], CustomerName="Carriage\rReturn Ltd", Subtotal="12,50"),  # line 3: a CR inside the name
        _line(rows[2], CustomerName="Two\nLines Ltd", Subtotal="7,25"),  # lines 4-5: one record
        _line(rows[3], Subtotal="1,00"),  # line 6
    ]
    text = csv_text(LICENSE_HEADER, []) + "".join(written)
    write_text(month / "l.csv", text)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", rows[:1])])

    load(tmp_path)

    assert [(line, column, raw) for _, line, column, _, raw in rejected(tmp_path)] == [
        (3, "Subtotal", written[1].rstrip("\r\n")),
        (4, "Subtotal", written[2].rstrip("\r\n")),
        (6, "Subtotal", written[3].rstrip("\r\n")),
    ]
    assert "Carriage\rReturn Ltd" in written[1] and "Two\nLines Ltd" in written[2]
    assert [r["customer_id"] for r in raw_rows(tmp_path, "raw.license_recon")] == ["c-0"]
