{# Marts built by earlier versions hold money in DECIMAL(18, x), which overflows at 10^12 (a
   large JPY or HUF customer). Those columns are widened in place, before any model runs: every
   new type has as many decimals and more integer digits than the old one, so no value
   changes, and the column order stays. One entry per column whose type changed. #}
{% macro mart_column_types() -%}
    {%- set money = 'DECIMAL(28,6)' -%}
    {%- set billed = 'DECIMAL(28,2)' -%}
    {%- do return({
        'fct_charges': {
            'quantity': 'DECIMAL(38,18)', 'cost_pretax': money, 'cost_tax': money,
            'list_amount': 'DECIMAL(38,12)', 'billed_pretax': billed, 'markup_amount': money, 'margin': money,
        },
        'customer_monthly': {
            'license_cost_pretax': money, 'usage_cost_pretax': money, 'cost_pretax': money,
            'markup_amount': money, 'service_charges': billed, 'billed_pretax': billed,
            'customer_tax': billed, 'billed_total': billed, 'margin': money,
        },
        'customer_invoice_lines': {'quantity': 'DECIMAL(38,18)', 'unit_price': 'DECIMAL(28,4)', 'amount': billed},
        'invoice_reconciliation': {
            'recon_license_pretax': money, 'recon_usage_pretax': money, 'recon_pretax': money,
            'other_charges': money, 'invoice_license_pretax': money, 'invoice_usage_pretax': money,
            'invoice_pretax': money, 'recon_tax': money, 'invoice_tax': money, 'invoice_total': money,
            'pretax_difference': money, 'tax_difference': money, 'total_difference': money,
        },
    }) -%}
{%- endmacro %}

{% macro widen_mart_columns() -%}
    {%- if execute -%}
        {%- set wanted = mart_column_types() -%}
        {%- set found = run_query(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'"
        ) -%}
        {%- for table, column, data_type in found.rows -%}
            {%- set target = wanted.get(table, {}).get(column) -%}
            {%- if target and data_type | replace(' ', '') | upper != target -%}
                {%- do log('Widening marts.' ~ table ~ '.' ~ column ~ ' from ' ~ data_type ~ ' to ' ~ target, info=true) -%}
                {%- do run_query('alter table marts.' ~ table ~ ' alter column ' ~ column ~ ' type ' ~ target) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
