"""Closing a month (issue 14): drafts, approval, issue; a changed issued month is corrected by a
credit note and a corrected invoice (never rewriting what was sent), or on the next month's
invoice; amounts are hand arithmetic on the chosen seats (22.00 each, 20 % French VAT)."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from pipelines.closing import month as closing
from pipelines.closing.status import MonthStatus, StatusError, history, month_state
from pipelines.invoicing.issuing import ISSUED_DIR
from pipelines.periods import BillingPeriod
from tests.closing_warehouse import DOMESTIC_ID, REVERSE_ID, customers, new_data_dir, seats, set_month

OCTOBER, NOVEMBER = "2026-10", "2026-11"
OCTOBER_PERIOD, NOVEMBER_PERIOD = BillingPeriod.parse(OCTOBER), BillingPeriod.parse(NOVEMBER)


def _digests(folder) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def _issued(paths) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(
            "SELECT invoice_number, customer_id, document_kind, preceding_invoice, billed_pretax, customer_tax, billed_total, issue_date "
            "FROM billing.issued_invoices ORDER BY series, sequence"
        ).fetchall()


def _status(paths, period: str) -> MonthStatus:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return month_state(con, BillingPeriod.parse(period)).status


def _close(paths, period: str, issue_date: date) -> closing.Outcome:
    billing_period = BillingPeriod.parse(period)
    assert closing.after_run(paths, billing_period, correct=False).status == MonthStatus.OPEN
    closing.approve(paths, billing_period, "Jane Doe (billing)", [], [], [])
    return closing.issue(paths, billing_period, "Jane Doe (billing)", [], None, issue_date)


@pytest.fixture(scope="module")
def corrected(tmp_path_factory):
    """October issued (33 and 5 seats), then its file corrected (34 seats for Dupont), re-run
    without and then with --correct."""
    paths = new_data_dir(tmp_path_factory.mktemp("credit"), customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    set_month(paths, OCTOBER, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    issued = _close(paths, OCTOBER, date(2026, 11, 5))
    folder = paths.exports(OCTOBER_PERIOD) / ISSUED_DIR
    before = _digests(folder)
    set_month(paths, OCTOBER, customers([seats(34, OCTOBER)], [seats(5, OCTOBER)]))
    pending = closing.after_run(paths, OCTOBER_PERIOD, correct=False)
    pending_documents = _issued(paths)
    correction = closing.after_run(paths, OCTOBER_PERIOD, correct=True, issue_date=date(2026, 11, 20))
    again = closing.after_run(paths, OCTOBER_PERIOD, correct=True, issue_date=date(2026, 11, 21))
    return paths, issued, before, pending, pending_documents, correction, again


def test_issuing_numbers_the_approved_month(corrected):
    paths, issued, before, *_ = corrected
    assert issued.documents == ("FA-000001", "FA-000002")
    assert sorted(before) == sorted(f"FA-00000{n}.{kind}" for n in (1, 2) for kind in ("html", "pdf", "xml"))


def test_a_changed_issued_month_is_pending_until_corrected_deliberately(corrected):
    paths, _, _, pending, pending_documents, *_ = corrected
    assert pending.status == MonthStatus.CORRECTION_PENDING
    assert "Société Dupont, SA (EUR): +26.40 with VAT" in pending.message  # one more seat: 22.00 + 20 % = 26.40
    assert "--correct" in pending.message
    assert [row[0] for row in pending_documents] == ["FA-000001", "FA-000002"], (
        "nothing issued before the deliberate correction"
    )


def test_correction_issues_a_credit_note_and_a_corrected_invoice_netting_to_the_change(corrected):
    paths, _, before, _, _, correction, _ = corrected
    assert correction.status == MonthStatus.ISSUED
    assert correction.documents == ("AV-000001", "FA-000003")
    rows = {row[0]: row for row in _issued(paths)}
    # The credit note takes back FA-000001 in full: 33 x 22.00 = 726.00, VAT 145.20, 871.20.
    assert rows["AV-000001"][1:] == (
        DOMESTIC_ID,
        "credit_note",
        "FA-000001",
        Decimal("-726.00"),
        Decimal("-145.20"),
        Decimal("-871.20"),
        date(2026, 11, 20),
    )
    # The corrected invoice: 34 x 22.00 = 748.00, VAT 149.60, 897.60, replacing FA-000001.
    assert rows["FA-000003"][1:] == (
        DOMESTIC_ID,
        "invoice",
        "FA-000001",
        Decimal("748.00"),
        Decimal("149.60"),
        Decimal("897.60"),
        date(2026, 11, 20),
    )
    net = sum(row[6] for row in rows.values() if row[1] == DOMESTIC_ID)
    assert net == Decimal("897.60"), "original + credit note + corrected = what the customer owes now"
    assert rows["AV-000001"][6] + rows["FA-000003"][6] == Decimal("26.40")
    assert REVERSE_ID not in {rows["AV-000001"][1], rows["FA-000003"][1]}, "an unchanged customer gets no correction"


def test_what_was_sent_is_byte_identical_and_the_corrections_are_new_files(corrected):
    paths, _, before, *_ = corrected
    after = _digests(paths.exports(OCTOBER_PERIOD) / ISSUED_DIR)
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {
        f"{number}.{kind}" for number in ("AV-000001", "FA-000003") for kind in ("html", "pdf", "xml")
    }


def test_the_credit_note_is_a_381_referring_to_the_invoice_it_cancels(corrected):
    paths, *_ = corrected
    folder = paths.exports(OCTOBER_PERIOD) / ISSUED_DIR
    credit = (folder / "AV-000001.xml").read_text(encoding="utf-8")
    assert "<ram:TypeCode>381</ram:TypeCode>" in credit
    assert re.search(r"<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>FA-000001</ram:IssuerAssignedID>"
                     r"<ram:FormattedIssueDateTime><qdt:DateTimeString format=\"102\">20261105</qdt:DateTimeString>", credit)  # fmt: skip
    assert "<ram:GrandTotalAmount>871.20</ram:GrandTotalAmount>" in credit  # the cancelled amounts, typed as credited
    corrected_xml = (folder / "FA-000003.xml").read_text(encoding="utf-8")
    assert (
        "<ram:TypeCode>380</ram:TypeCode>" in corrected_xml
        and "<ram:IssuerAssignedID>FA-000001</ram:IssuerAssignedID>" in corrected_xml
    )
    html = (folder / "AV-000001.html").read_text(encoding="utf-8")
    assert "<h1>Avoir</h1>" in html and "Annule en totalité la facture FA-000001 du 5 novembre 2026." in html


def test_a_second_correcting_run_with_the_same_files_issues_nothing(corrected):
    paths, *_, again = corrected
    assert again.documents == () and again.status == MonthStatus.ISSUED
    assert len(_issued(paths)) == 4
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        changes = [(before, after) for _, _, before, after, _ in history(con, OCTOBER_PERIOD)]
    assert changes == [
        ("open", "open"),
        ("open", "approved"),
        ("approved", "issued"),
        ("issued", "correction_pending"),
        ("correction_pending", "issued"),
    ]


def test_next_invoice_mode_puts_the_difference_on_next_month(tmp_path):
    paths = new_data_dir(tmp_path, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]), correction_mode="next_invoice")
    set_month(paths, OCTOBER, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    _close(paths, OCTOBER, date(2026, 11, 5))
    sent = _digests(paths.exports(OCTOBER_PERIOD) / ISSUED_DIR)
    set_month(paths, NOVEMBER, customers([seats(33, NOVEMBER)], [seats(5, NOVEMBER)]))
    set_month(paths, OCTOBER, customers([seats(34, OCTOBER)], [seats(5, OCTOBER)]))

    carried = closing.after_run(paths, OCTOBER_PERIOD, correct=True)
    assert carried.documents == () and "carried onto the invoices of 2026-11" in carried.message
    november = _close(paths, NOVEMBER, date(2026, 12, 5))

    assert november.documents == ("FA-000003", "FA-000004")
    rows = {row[0]: row for row in _issued(paths)}
    # November's own 33 seats (726.00) plus October's extra seat (22.00); VAT 20 % of both.
    assert rows["FA-000003"][1] == DOMESTIC_ID and rows["FA-000003"][4:7] == (
        Decimal("748.00"),
        Decimal("149.60"),
        Decimal("897.60"),
    )
    assert rows["FA-000004"][4:7] == (
        Decimal("110.00"),
        Decimal("0.00"),
        Decimal("110.00"),
    )  # reverse charge, 5 x 22.00
    assert not any(row[2] == "credit_note" for row in rows.values())
    assert _digests(paths.exports(OCTOBER_PERIOD) / ISSUED_DIR) == sent
    html = (paths.exports(NOVEMBER_PERIOD) / ISSUED_DIR / "FA-000003.html").read_text(encoding="utf-8")
    assert "Régularisation de la facture FA-000001 (octobre 2026)" in html and "22,00" in html
    assert _status(paths, OCTOBER) == MonthStatus.ISSUED


def test_a_run_of_an_approved_month_with_changed_figures_returns_it_to_open(tmp_path):
    paths = new_data_dir(tmp_path, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    set_month(paths, OCTOBER, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    closing.after_run(paths, OCTOBER_PERIOD, correct=False)
    closing.approve(paths, OCTOBER_PERIOD, "Jane Doe", [], [], [])
    assert (
        closing.after_run(paths, OCTOBER_PERIOD, correct=False).status == MonthStatus.APPROVED
    )  # same figures: still approved

    set_month(paths, OCTOBER, customers([seats(30, OCTOBER)], [seats(5, OCTOBER)]))
    reopened = closing.after_run(paths, OCTOBER_PERIOD, correct=False)
    assert reopened.status == MonthStatus.OPEN and "figures changed since Jane Doe approved them" in reopened.message
    with pytest.raises(StatusError, match="only an approved month is issued"):
        closing.issue(paths, OCTOBER_PERIOD, "Jane Doe", [], None)
    assert _issued(paths) == []


def _switch_to_credit_notes(paths) -> None:
    partner = paths.root / "config" / "partner.toml"
    partner.write_text(
        partner.read_text(encoding="utf-8").replace(
            'correction_mode = "next_invoice"', 'correction_mode = "credit_note"'
        ),
        encoding="utf-8",
    )


def _dupont_total(paths, number: str) -> Decimal:
    return {row[0]: row for row in _issued(paths)}[number][6]


def _october_seat_carried_onto_november(tmp_path):
    """October issued at 33 seats, then corrected to 34 in next_invoice mode: +1 seat carried onto November."""
    paths = new_data_dir(tmp_path, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]), correction_mode="next_invoice")
    set_month(paths, OCTOBER, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    _close(paths, OCTOBER, date(2026, 11, 5))
    set_month(paths, NOVEMBER, customers([seats(33, NOVEMBER)], [seats(5, NOVEMBER)]))
    set_month(paths, OCTOBER, customers([seats(34, OCTOBER)], [seats(5, OCTOBER)]))
    closing.after_run(paths, OCTOBER_PERIOD, correct=True)
    return paths


def test_switching_to_credit_notes_withdraws_a_difference_still_waiting_on_an_open_month(tmp_path):
    """October carried +1 seat onto November, then the partner switched to credit notes and
    October changed again (35 seats): the corrected invoice bills all 35, so November must not
    bill the carried seat too."""
    paths = _october_seat_carried_onto_november(tmp_path)

    _switch_to_credit_notes(paths)
    set_month(paths, OCTOBER, customers([seats(35, OCTOBER)], [seats(5, OCTOBER)]))
    correction = closing.after_run(paths, OCTOBER_PERIOD, correct=True, issue_date=date(2026, 11, 20))
    assert correction.documents == ("AV-000001", "FA-000003")
    assert _dupont_total(paths, "AV-000001") == Decimal("-871.20")  # FA-000001 cancelled: 33 x 22.00 + 20 %
    assert _dupont_total(paths, "FA-000003") == Decimal("924.00")  # 35 x 22.00 = 770.00 + 20 %

    november = _close(paths, NOVEMBER, date(2026, 12, 5))
    assert november.documents == ("FA-000004", "FA-000005")
    assert _dupont_total(paths, "FA-000004") == Decimal("871.20"), "November's 33 seats, no carried seat"
    html = (paths.exports(NOVEMBER_PERIOD) / ISSUED_DIR / "FA-000004.html").read_text(encoding="utf-8")
    assert "Régularisation" not in html
    billed_for_october = sum(row[6] for row in _issued(paths) if row[1] == DOMESTIC_ID and row[7] < date(2026, 12, 1))
    assert billed_for_october == Decimal("924.00"), "October billed once: 35 seats with VAT"


def test_switching_to_credit_notes_credits_a_difference_already_billed_on_the_next_open_month(tmp_path):
    """The carried seat was billed on November's issued invoice; October's credit note and
    corrected invoice bill October in full, so December credits the seat back."""
    paths = _october_seat_carried_onto_november(tmp_path)
    _close(paths, NOVEMBER, date(2026, 12, 5))
    assert _dupont_total(paths, "FA-000003") == Decimal("897.60")  # 33 seats + the carried one, with VAT

    _switch_to_credit_notes(paths)
    set_month(paths, OCTOBER, customers([seats(35, OCTOBER)], [seats(5, OCTOBER)]))
    correction = closing.after_run(paths, OCTOBER_PERIOD, correct=True, issue_date=date(2026, 12, 10))
    assert correction.documents == ("AV-000001", "FA-000005")
    assert _dupont_total(paths, "FA-000005") == Decimal("924.00")

    december = "2026-12"
    set_month(paths, december, customers([seats(33, december)], [seats(5, december)]))
    issued = _close(paths, december, date(2027, 1, 5))
    assert issued.documents == ("FA-000006", "FA-000007")
    # December's 33 seats (726.00) less the seat November billed for October (22.00): 704.00 + 20 %.
    assert _dupont_total(paths, "FA-000006") == Decimal("844.80")
    html = (paths.exports(BillingPeriod.parse(december)) / ISSUED_DIR / "FA-000006.html").read_text(encoding="utf-8")
    assert "Régularisation de la facture FA-000001 (octobre 2026)" in html and "-22,00" in html
    paid = sum(row[6] for row in _issued(paths) if row[1] == DOMESTIC_ID)
    assert paid == Decimal("924.00") + 2 * Decimal("871.20"), "October once at 35 seats, November and December at 33"
