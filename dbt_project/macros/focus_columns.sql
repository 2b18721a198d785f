{#- Microsoft, or the distributor an indirect reseller buys from (dbt var
   focus_microsoft_invoice_issuer), as a SQL literal, quotes doubled. -#}
{% macro focus_microsoft_invoice_issuer() -%}
'{{ var("focus_microsoft_invoice_issuer", "Microsoft") | replace("'", "''") }}'
{%- endmacro %}

{#- Who Microsoft bills, in which currency, for which month: alike on every row of the cost side
   (recon, daily and tax rows), read from columns partner_id, currency, billing_period and the
   CTE partner. -#}
{% macro focus_billed_to_partner() -%}
coalesce(partner_id, '') as "BillingAccountId",
        (select legal_name from partner) as "BillingAccountName",
        'Partner' as "BillingAccountType",
        currency as "BillingCurrency",
        timezone('UTC', (billing_period + interval 1 month)::timestamp) as "BillingPeriodEnd",
        timezone('UTC', billing_period::timestamp) as "BillingPeriodStart",
{%- endmacro %}
