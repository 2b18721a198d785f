from pipelines.transform.failures import describe_dbt_failures


def test_configuration_problems_are_quoted_and_other_failures_named():
    run_results = {
        "results": [
            {"unique_id": "model.csp_recon.fct_charges", "status": "success"},
            {
                "unique_id": "test.csp_recon.assert_pricing_rules_do_not_tie",
                "status": "fail",
                "message": "Got 1 result, configured to fail if != 0",
                "compiled_code": "select 'a and b tie' as problem from rules",
            },
            {
                "unique_id": "test.csp_recon.unique_fct_charges_charge_id",
                "status": "fail",
                "message": "Got 2 results",
                "compiled_code": "select 1",
            },
            {"unique_id": "model.csp_recon.customer_monthly", "status": "error", "message": "Binder Error: x"},
        ]
    }
    asked = []

    def problems_of(sql: str) -> list[str]:
        asked.append(sql)
        return ["a and b target the same lines with the same priority"]

    description = describe_dbt_failures(run_results, problems_of)
    assert description.splitlines() == [
        "dbt assert_pricing_rules_do_not_tie: a and b target the same lines with the same priority",
        "dbt unique_fct_charges_charge_id: Got 2 results",
        "dbt customer_monthly: Binder Error: x",
    ]
    assert len(asked) == 1 and asked[0].endswith("limit 3")


def test_nothing_failed_says_so():
    assert "before running any model" in describe_dbt_failures({"results": []}, lambda sql: [])
