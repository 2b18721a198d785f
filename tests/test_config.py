"""The partner's configuration outside the code: the sample, mistakes named by file, line and
field, pricing-rules files with or without the new targeting columns, GUIDs in either case, and
a price changed in the config directory changing the month's billing with no edit of the code."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.config import SAMPLE_DIR, ConfigError, load_config, load_into_warehouse, write_sample_config
from pipelines.config.tables import PRICING_RULES

CONTRACT_PRICING_COLUMNS = [
    "pricing_rule_id", "customer_id", "source", "product_pattern", "product_id", "sku_id", "publisher_pattern", "term_pattern",
    "billing_frequency", "reseller_mpn_id", "priority", "basis", "rate", "unit_price", "currency", "valid_from", "valid_to", "description",
]  # fmt: skip


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    write_sample_config(tmp_path / "config")
    return tmp_path / "config"


def _problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    return [str(problem) for problem in raised.value.problems]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_sample_is_commented_complete_and_never_written_over_a_config(config_dir):
    config = load_config(config_dir)
    assert config.partner.legal_name == "Nuage Conseil SAS" and config.partner.payment_terms_days == 30
    assert {table: len(rows) for table, rows in config.tables.items()} == {
        "customers": 12,
        "pricing_rules": 9,
        "partner_service_charges": 5,
    }
    assert all(row["billing_profile_problems"] is None for row in config.customers)
    assert (config_dir / "customers.csv").read_text(encoding="utf-8").startswith("# ")
    assert (config_dir / "partner.toml").read_text(encoding="utf-8").startswith("# ")
    _replace(config_dir / "partner.toml", "Nuage Conseil SAS", "My Own SAS")
    with pytest.raises(FileExistsError, match="nothing was written"):
        write_sample_config(config_dir)
    assert "My Own SAS" in (config_dir / "partner.toml").read_text(encoding="utf-8")


def test_mistakes_are_named_by_file_line_and_field(config_dir):
    # line 8 of customers.csv is the first customer (7 lines of comments and header before it)
    _replace(config_dir / "customers.csv", "domestic,0.20,", "domestic,20%,")
    _replace(
        config_dir / "customers.csv",
        "Contoso Ltd.,1 Grand Canal Square,,D02 P820,Dublin,IE,IE6388047V,reverse_charge",
        "Contoso Ltd.,1 Grand Canal Square,,D02 P820,Dublin,IE,IE6388047V,reverse-charge",
    )
    _replace(config_dir / "pricing_rules.csv", "usage-standard,,usage,,,,,,,,0,", "usage-standard,,usage,,,,,,,,high,")
    _replace(config_dir / "partner.toml", 'iban = "FR7630006000011234567890189"', 'iban = ""')
    problems = _problems(config_dir)
    assert (
        "customers.csv line 11, vat_rate: is '20%': write a fraction, e.g. 0.20 for 20 %, with a point for decimals and no currency sign"
        in problems
    )
    assert (
        "customers.csv line 9, tax_treatment: is 'reverse-charge': write one of domestic, reverse_charge, exempt, outside_scope"
        in problems
    )
    assert "pricing_rules.csv line 3, priority: is 'high': write a whole number, e.g. 0" in problems
    assert "partner.toml, [bank] iban: is missing: write the IBAN customers pay to" in problems


def test_unknown_columns_duplicates_and_unknown_customers_are_refused(config_dir):
    _replace(config_dir / "partner_service_charges.csv", "service_charge_id,", "service_charge_ids,")
    _replace(config_dir / "pricing_rules.csv", "contoso-all,", "default,")
    problems = _problems(config_dir)
    assert any(
        p.startswith("partner_service_charges.csv line 1, service_charge_ids: is not a column of this file")
        for p in problems
    )
    assert (
        "pricing_rules.csv line 6, pricing_rule_id: 'default' is already on line 2: each pricing_rule_id appears once"
        in problems
    )


def test_pricing_rules_load_with_or_without_the_targeting_columns(config_dir):
    assert [column.name for column in PRICING_RULES.columns] == CONTRACT_PRICING_COLUMNS
    with duckdb.connect() as con:
        load_into_warehouse(con, load_config(config_dir))  # the sample's file predates the targeting columns
        columns = [
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'pricing_rules' ORDER BY ordinal_position"
            ).fetchall()
        ]
        assert columns == [*CONTRACT_PRICING_COLUMNS, "source_line"]
        assert con.execute(
            "SELECT count(*) FROM config.pricing_rules WHERE sku_id IS NOT NULL OR publisher_pattern IS NOT NULL"
        ).fetchone() == (0,)
    (config_dir / "pricing_rules.csv").write_text(
        ",".join(CONTRACT_PRICING_COLUMNS) + "\n" + "default,,,,,,,,,,0,cost_markup,15,,,,,x\n"
        "nce-seat,,seat,,CFQ7TTC0LH18,0001,Microsoft%,%P1Y%,monthly,1234567,1,cost_markup,9,,,,,NCE seats\n",
        encoding="utf-8",
    )
    with duckdb.connect() as con:
        load_into_warehouse(con, load_config(config_dir))
        row = con.execute(
            "SELECT source, product_id, sku_id, publisher_pattern, term_pattern, billing_frequency, reseller_mpn_id, rate FROM config.pricing_rules WHERE pricing_rule_id = 'nce-seat'"
        ).fetchone()
    assert row == ("seat", "CFQ7TTC0LH18", "0001", "Microsoft%", "%P1Y%", "monthly", "1234567", Decimal("9.0000"))


def test_guids_are_compared_in_any_case_and_incomplete_profiles_are_recorded(config_dir):
    _replace(
        config_dir / "customers.csv",
        "3eb751bd-dd07-411e-97c2-fefcfffa92af,Contoso Ltd.,1 Grand Canal Square,,D02 P820,Dublin,IE,IE6388047V",
        "3EB751BD-DD07-411E-97C2-FEFCFFFA92AF,Contoso Ltd.,,,D02 P820,Dublin,IE,",
    )
    config = load_config(config_dir)  # the service charges name Contoso in lower case: still found
    contoso = next(row for row in config.customers if row["billing_name"] == "Contoso Ltd.")
    assert contoso["customer_id"] == "3eb751bd-dd07-411e-97c2-fefcfffa92af"
    assert (
        contoso["billing_profile_problems"]
        == "no address; tax_treatment is reverse_charge but vat_id is blank (the customer's VAT number must be on the invoice)"
    )


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_changing_a_price_in_the_config_directory_changes_the_billing(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    assert (
        main(
            [
                "generate",
                "--commerce",
                "legacy",
                "--out",
                str(data_dir / "landing"),
                "--period",
                "2026-10",
                "--license-rows",
                "30",
                "--usage-rows",
                "40",
            ]
        )
        == 0
    )
    write_sample_config(data_dir / "config")
    _replace(
        data_dir / "config" / "pricing_rules.csv",
        "default,,,,,,,,,,0,cost_markup,15,",
        "default,,,,,,,,,,0,cost_markup,40,",
    )
    assert main(["run", "--period", "2026-10", "--data-dir", str(data_dir)]) == 0
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        priced = con.execute(
            "SELECT cost_pretax, billed_pretax FROM marts.fct_charges WHERE pricing_rule_id = 'default'"
        ).fetchall()
        configured = con.execute("SELECT rate FROM config.pricing_rules WHERE pricing_rule_id = 'default'").fetchone()[
            0
        ]
    assert priced, "the generated month has lines priced by the default rule"
    assert configured == Decimal(40)
    for cost, billed in priced:
        assert abs(billed - cost * Decimal("1.40")) <= Decimal("0.005"), (cost, billed)
    # the code repo's sample is untouched
    assert "default,,,,,,,,,,0,cost_markup,15," in (SAMPLE_DIR / "pricing_rules.csv").read_text(encoding="utf-8")


def test_a_run_with_a_mistake_in_the_config_stops_before_pricing_and_names_it(tmp_path, config_dir):
    import dagster as dg

    from pipelines.defs.config.assets import partner_config
    from pipelines.defs.resources import Warehouse

    data_dir = config_dir.parent
    _replace(config_dir / "partner_service_charges.csv", "850.00", "850 EUR")
    with dg.instance_for_test() as instance:  # its own instance: an earlier test's CLI run closed the last one
        result = dg.materialize(
            [partner_config],
            partition_key="2026-10",
            resources={"warehouse": Warehouse(data_dir=str(data_dir))},
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    description = failure.step_failure_data.user_failure_data.description
    assert "partner_service_charges.csv line 2, unit_price: is '850 EUR': write a price such as 850.00" in description
    assert "Traceback" not in description
