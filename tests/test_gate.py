"""The issuing gate judges the month's data as it is now: any problem of any blocking check
stops invoices and publication, with the check's own sentence; a check that cannot run stops them too."""

from datetime import date
from decimal import Decimal

import duckdb

from pipelines.quality.gate import judge_month

MONTH = date(2026, 9, 1)


def _warehouse():
    con = duckdb.connect()
    con.execute("CREATE TABLE lines (billing_period DATE, amount DECIMAL(24,6))")
    con.execute("INSERT INTO lines VALUES ('2026-09-01', 10.00), ('2026-09-01', -2.50), ('2026-08-01', 99)")
    return con


def _total_is(expected):
    def judge(con, month):
        found, = con.execute("SELECT sum(amount) FROM lines WHERE billing_period = ?", [month]).fetchone()
        return [] if found == expected else [f"total {found} is not {expected}"]

    return judge


def test_a_month_whose_checks_pass_on_its_current_data_passes():
    verdict = judge_month(_warehouse(), MONTH, [("total", _total_is(Decimal("7.50")))])
    assert verdict.passed and verdict.problems == ()


def test_data_changed_since_a_pass_fails_the_gate_with_the_checks_sentence():
    con = _warehouse()
    checks = [("total", _total_is(Decimal("7.50")))]
    assert judge_month(con, MONTH, checks).passed
    con.execute("UPDATE lines SET amount = amount + 1 WHERE billing_period = '2026-09-01' AND amount > 0")
    verdict = judge_month(con, MONTH, checks)
    assert not verdict.passed
    assert verdict.problems == ("total: total 8.500000 is not 7.50",)
    assert verdict.sentence("Customer invoices").startswith("Customer invoices for 2026-09 not produced")


def test_a_check_that_cannot_run_blocks():
    verdict = judge_month(_warehouse(), MONTH, [("missing", lambda con, month: con.execute("SELECT * FROM marts.nothing").fetchall())])
    assert not verdict.passed and "could not be evaluated" in verdict.problems[0]
