"""The issuing gate judges the month's data as it is now: any problem of any blocking check
stops invoices and publication, with the check's own sentence; a check that cannot run stops them too."""

from decimal import Decimal

import duckdb

from pipelines.periods import BillingPeriod
from pipelines.quality.gate import judge_month

PERIOD = BillingPeriod.parse("2026-09")


def _warehouse():
    con = duckdb.connect()
    con.execute("CREATE TABLE lines (billing_period DATE, amount DECIMAL(24,6))")
    con.execute("INSERT INTO lines VALUES ('2026-09-01', 10.00), ('2026-09-01', -2.50), ('2026-08-01', 99)")
    return con


def _total_is(expected):
    def judge(con, period):
        (found,) = con.execute("SELECT sum(amount) FROM lines WHERE billing_period = ?", [period.start]).fetchone()
        return [] if found == expected else [f"total {found} is not {expected}"]

    return judge


def test_a_month_whose_checks_pass_on_its_current_data_passes():
    verdict = judge_month(_warehouse(), PERIOD, [("total", _total_is(Decimal("7.50")))])
    assert verdict.passed and verdict.problems == ()


def test_data_changed_since_a_pass_fails_the_gate_with_the_checks_sentence():
    con = _warehouse()
    checks = [("total", _total_is(Decimal("7.50")))]
    assert judge_month(con, PERIOD, checks).passed
    con.execute("UPDATE lines SET amount = amount + 1 WHERE billing_period = '2026-09-01' AND amount > 0")
    verdict = judge_month(con, PERIOD, checks)
    assert not verdict.passed
    assert verdict.problems == ("total: total 8.500000 is not 7.50",)
    assert verdict.sentence("Customer invoices").startswith("Customer invoices for 2026-09 not produced")


def test_a_check_that_cannot_run_blocks():
    verdict = judge_month(
        _warehouse(), PERIOD, [("missing", lambda con, period: con.execute("SELECT * FROM marts.nothing").fetchall())]
    )
    assert not verdict.passed and "could not be evaluated" in verdict.problems[0]


# --- dbt test verdicts count for the data they were about -----------------------------------

import csv  # noqa: E402

import pytest  # noqa: E402

from pipelines.cli import main  # noqa: E402
from pipelines.defs.quality.gate import blocking_checks  # noqa: E402
from pipelines.ingest.schema import ensure_raw_schema  # noqa: E402
from pipelines.quality.dbt_results import data_fingerprint, describe_test, error_tests, judge_tests, record_results  # noqa: E402
from pipelines.settings import DataPaths  # noqa: E402

NOT_NULL = "test.csp_recon.not_null_customer_monthly_customer_id.83fce1d731"
MANIFEST = {
    "nodes": {
        "model.csp_recon.customer_monthly": {"resource_type": "model", "schema": "marts", "name": "customer_monthly"},
        NOT_NULL: {
            "resource_type": "test",
            "name": "not_null_customer_monthly_customer_id",
            "config": {"severity": "ERROR"},
            "attached_node": "model.csp_recon.customer_monthly",
            "test_metadata": {
                "name": "not_null",
                "kwargs": {"column_name": "customer_id", "model": "{{ get_where_subquery(ref('customer_monthly')) }}"},
            },
        },
        "test.csp_recon.assert_rules": {
            "resource_type": "test",
            "name": "assert_rules",
            "config": {"severity": "error"},
            "raw_code": "-- Every line must find a rule:\n-- a default always exists.\nselect 1",
            "depends_on": {"nodes": []},
        },
        "test.csp_recon.described": {
            "resource_type": "test",
            "name": "described",
            "description": "Said in the YAML.",
            "config": {"severity": "error"},
        },
        "test.csp_recon.only_a_warning": {
            "resource_type": "test",
            "name": "only_a_warning",
            "config": {"severity": "warn"},
        },
    }
}


def test_dbt_tests_are_described_from_their_yaml_or_what_they_assert():
    tests = error_tests(MANIFEST)
    assert tests == {
        NOT_NULL: "customer_id is never null in marts.customer_monthly",
        "test.csp_recon.assert_rules": "Every line must find a rule: a default always exists.",
        "test.csp_recon.described": "Said in the YAML.",
    }
    assert describe_test(MANIFEST["nodes"]["test.csp_recon.only_a_warning"], MANIFEST) == "only a warning"


def _month_warehouse():
    con = duckdb.connect()
    ensure_raw_schema(con)
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.customer_monthly (billing_period DATE, customer_id VARCHAR, billed_pretax DECIMAL(28,2))"
    )
    con.execute("INSERT INTO marts.customer_monthly VALUES ('2026-09-01', 'c1', 10.00), ('2026-09-01', NULL, 2.00)")
    return con


def _results(status: str, failures: int = 0) -> dict:
    return {
        "results": [
            {"unique_id": NOT_NULL, "status": status, "failures": failures, "message": f"Got {failures} result"},
            {"unique_id": "model.csp_recon.customer_monthly", "status": "success"},
        ]
    }


def test_a_failed_dbt_test_blocks_the_month_while_its_data_is_unchanged():
    con = _month_warehouse()
    record_results(con, PERIOD, data_fingerprint(con, PERIOD), _results("fail", 1), "run-1")
    required = {NOT_NULL: "customer_id is never null in marts.customer_monthly"}
    assert judge_tests(con, PERIOD, data_fingerprint(con, PERIOD), required) == [
        "'customer_id is never null in marts.customer_monthly' failed (1 row(s) break it)"
    ]


def test_a_verdict_about_other_data_does_not_count():
    con = _month_warehouse()
    required = {NOT_NULL: "customer_id is never null in marts.customer_monthly"}
    passed_on = data_fingerprint(con, PERIOD)
    record_results(con, PERIOD, passed_on, _results("pass"), "run-1")
    assert judge_tests(con, PERIOD, passed_on, required) == []
    # The month is rebuilt from another delivery: the pass was about the old rows.
    con.execute("UPDATE marts.customer_monthly SET billed_pretax = 11.00 WHERE customer_id = 'c1'")
    now = data_fingerprint(con, PERIOD)
    assert now != passed_on
    [problem] = judge_tests(con, PERIOD, now, required)
    assert problem == (
        "1 dbt test(s) have no verdict on the month's current data ('customer_id is never null in marts.customer_monthly'): "
        "run the month's transform again"
    )
    # Another month's data is not part of this month's fingerprint.
    con.execute("INSERT INTO marts.customer_monthly VALUES ('2026-08-01', 'c9', 1.00)")
    assert data_fingerprint(con, PERIOD) == now


def test_rejected_lines_carrying_money_block_the_gate_until_acknowledged(tmp_path):
    paths = DataPaths(tmp_path)
    con = _month_warehouse()
    con.execute(
        "INSERT INTO raw.rejected_rows VALUES ('2026-09-01', 'usage.csv', 'usage_recon', 7, 'ConsumedQuantity', 'not a number', NULL, 'sha', NULL)"
    )
    [(name, judge)] = [(name, judge) for name, judge in blocking_checks(paths) if name == "rejected_lines_resolved"]
    [problem] = judge(con, PERIOD)
    assert problem.startswith(
        "1 rejected line(s) carrying money are missing from the invoices, so 2026-09's invoices wait: file 'usage.csv', line 7"
    )
    (tmp_path / "acknowledgements").mkdir()
    (tmp_path / "acknowledgements" / "2026-09.yml").write_text(
        "acknowledged:\n  - file: usage.csv\n    line: 7\n    by: Jane Doe (billing)\n    reason: credited next month\n",
        encoding="utf-8",
    )
    assert judge(con, PERIOD) == []


@pytest.fixture(scope="module")
def dbt_test_failed(tmp_path_factory):
    """A month whose customers.csv bills a customer in CHF while Microsoft's lines are in EUR: the
    dbt test on the customer's currency fails in the month's run."""
    data_dir = tmp_path_factory.mktemp("dbt-failed")
    assert (
        main(
            [
                "generate",
                "--commerce",
                "legacy",
                "--out",
                str(data_dir / "landing"),
                "--period",
                "2026-09",
                "--customers",
                "3",
                "--license-rows",
                "8",
                "--usage-rows",
                "12",
                "--seed",
                "5",
                "--currencies",
                "EUR",
            ]
        )
        == 0
    )
    assert main(["init", "--data-dir", str(data_dir)]) == 0
    usage = next((data_dir / "landing" / "2026-09").glob("*Usage*.csv"))
    with usage.open(encoding="utf-8-sig", newline="") as source:
        customer = next(csv.DictReader(source))["CustomerId"]
    with (data_dir / "config" / "customers.csv").open("a", encoding="utf-8") as customers:
        customers.write(f"{customer},Kunde AG,Bahnhofstrasse 1,,8001,Zürich,CH,,outside_scope,,,en,CHF,,product\n")
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DAGSTER_HOME", raising=False)
        code = main(["run", "--period", "2026-09", "--data-dir", str(data_dir)])
    return data_dir, code


def test_a_month_whose_dbt_test_failed_in_one_run_is_refused_invoices_in_another(dbt_test_failed, capsys, monkeypatch):
    import dagster as dg

    from pipelines.defs.invoicing.assets import customer_invoices
    from pipelines.defs.resources import Warehouse

    data_dir, code = dbt_test_failed
    assert code == 1
    capsys.readouterr()
    # Only an approved month is issued, and approval judges the blocking checks on the data as it is now.
    assert main(["approve", "--period", "2026-09", "--by", "Jane Doe", "--data-dir", str(data_dir)]) == 1
    refused = capsys.readouterr().err.strip().splitlines()[-1]  # after the definitions' own notices
    assert refused.startswith("2026-09 cannot be approved: its blocking checks fail")
    # A run of the invoices alone, as a partial materialisation from the UI would be.
    with dg.instance_for_test() as instance:  # its own: the CLI run above closed the current one
        result = dg.materialize(
            [customer_invoices],
            partition_key="2026-09",
            resources={"warehouse": Warehouse(data_dir=str(data_dir))},
            raise_on_error=False,
            instance=instance,
        )
    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_FAILURE]
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("Customer invoices for 2026-09 not produced") and "dbt_tests:" in description
    assert not (data_dir / "exports" / "2026-09" / "invoices").exists()
