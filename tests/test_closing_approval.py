"""Approval (issue 14): refused while a warning check of the month fails and is not acknowledged,
naming each; passes once acknowledged by name, recorded with who and when; issue needs it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from pipelines.closing import month as closing
from pipelines.closing.status import MonthStatus, StatusError, history, month_state
from pipelines.defs.closing.warnings import judged_by
from pipelines.defs.quality.warnings import cost_jumps
from pipelines.periods import BillingPeriod
from tests.closing_warehouse import DOMESTIC_ID, customers, new_data_dir, seats, set_month

OCTOBER = "2026-10"
OCTOBER_PERIOD = BillingPeriod.parse(OCTOBER)


@pytest.fixture()
def spiking_month(tmp_path):
    """Dupont's cost jumps from 176.00 in September to 580.80 in October (+230 %)."""
    paths = new_data_dir(tmp_path, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    set_month(paths, OCTOBER, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute(
            "CREATE TABLE marts.customer_trends (billing_period DATE, customer_id VARCHAR, customer_name VARCHAR, currency VARCHAR, "
            "cost_pretax DECIMAL(28,6), cost_change_percent DECIMAL(38,4))"
        )
        # cost is 80 % of billed in these marts: 726.00 x 0.8 = 580.80; September 220.00 x 0.8 = 176.00
        # (580.80 - 176.00) / 176.00 = 230 %
        con.execute(
            "INSERT INTO marts.customer_trends VALUES ('2026-10-01', ?, 'Société Dupont, SA', 'EUR', 580.80, 230.0000)",
            [DOMESTIC_ID],
        )
    closing.after_run(paths, OCTOBER_PERIOD, correct=False)
    return paths


CHECKS = [("no_cost_jump", judged_by(cost_jumps)), ("usage_within_budget", lambda con, period: [])]


def test_approval_is_refused_while_a_warning_fails_unacknowledged_naming_it(spiking_month):
    with pytest.raises(StatusError) as refused:
        closing.approve(spiking_month, OCTOBER_PERIOD, "Jane Doe", [], CHECKS, [])
    assert "no_cost_jump (1 customer(s) cost more than" in str(refused.value) and "--acknowledge" in str(refused.value)
    assert "usage_within_budget" not in str(refused.value), "a passing check needs no acknowledgement"
    with pytest.raises(StatusError, match="no warning check is called 'no_cost_jumps'"):
        closing.approve(spiking_month, OCTOBER_PERIOD, "Jane Doe", ["no_cost_jumps"], CHECKS, [])
    with duckdb.connect(str(spiking_month.warehouse), read_only=True) as con:
        assert month_state(con, OCTOBER_PERIOD).status == MonthStatus.OPEN


def test_approval_passes_once_the_warning_is_acknowledged_by_name(spiking_month):
    approved = closing.approve(spiking_month, OCTOBER_PERIOD, "Jane Doe", ["no_cost_jump"], CHECKS, [])
    assert approved.status == MonthStatus.APPROVED
    with duckdb.connect(str(spiking_month.warehouse), read_only=True) as con:
        state = month_state(con, OCTOBER_PERIOD)
        changes = history(con, OCTOBER_PERIOD)
    assert (state.approved_by, state.acknowledged) == ("Jane Doe", ("no_cost_jump",))
    assert state.approved_at is not None
    assert changes[-1][1:] == ("Jane Doe", "open", "approved", "drafts approved; warnings acknowledged: no_cost_jump")


def test_blocking_problems_refuse_approval_and_issue(spiking_month):
    with pytest.raises(StatusError, match="blocking checks fail .invoices_reconcile: off by 0.01"):
        closing.approve(
            spiking_month, OCTOBER_PERIOD, "Jane Doe", ["no_cost_jump"], CHECKS, ["invoices_reconcile: off by 0.01"]
        )
    closing.approve(spiking_month, OCTOBER_PERIOD, "Jane Doe", ["no_cost_jump"], CHECKS, [])
    with pytest.raises(StatusError, match="cannot be issued"):
        closing.issue(spiking_month, OCTOBER_PERIOD, "Jane Doe", ["invoices_reconcile: off by 0.01"], None)
    issued = closing.issue(spiking_month, OCTOBER_PERIOD, "Jane Doe", [], None, date(2026, 11, 5))
    assert issued.documents == ("FA-000001", "FA-000002")
    with pytest.raises(StatusError, match="is issued: its invoices are issued, there is nothing to approve"):
        closing.approve(spiking_month, OCTOBER_PERIOD, "Jane Doe", ["no_cost_jump"], CHECKS, [])
    with duckdb.connect(str(spiking_month.warehouse), read_only=True) as con:
        total = con.execute("SELECT sum(billed_total) FROM billing.issued_invoices").fetchone()[0]
    assert total == Decimal("981.20")  # 726.00 + 20 % = 871.20, and 5 x 22.00 reverse charged = 110.00
