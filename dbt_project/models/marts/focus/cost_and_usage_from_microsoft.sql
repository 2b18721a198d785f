-- FOCUS 1.2 Cost and Usage rows of what Microsoft (or the distributor) invoices the partner:
-- one row per reconciliation line of the month (new commerce and legacy alike), except the Azure
-- plan lines of a group the daily rated usage file itemises, which are replaced by that group's
-- daily lines (per resource, day and meter, their cost shared to the cent by
-- int_azure_daily_cost_shared); plus one Tax row per invoice carrying tax. Column mapping:
-- docs/focus.md (the lines are mapped in int_focus_microsoft_rows). Rows of one invoice sum to
-- it: non-tax BilledCost = the invoice's Subtotal exactly (the recon lines are Microsoft's own
-- cent amounts, the daily lines share them to the cent), Tax rows = the invoice's tax as
-- printed on the invoice summary.
-- Columns: FOCUS columns first, then x_ columns, then billing_period (the month key every
-- mart has; the exported files leave it out).
{{ config(schema='focus') }}

with mapped as (
    select * from {{ ref('int_focus_microsoft_rows') }}
),

partner as (
    select legal_name from {{ source('config', 'partner_profile') }}
),

invoices as (
    select invoice_number, currency, tax, subtotal, billing_period
    from {{ ref('stg_partner_center__invoices') }}
    where {{ in_rebuilt_periods() }}
),

-- One Tax row per invoice carrying tax: the invoice's own figure (Microsoft rounds tax per
-- invoice, the lines per line), so the issuer's rows add up to what it invoiced.
tax_rows as (
    select
        i.billing_period, i.invoice_number, i.currency, i.tax,
        sum(m."x_LineTax") as line_tax,
        max(nullif(m."BillingAccountId", '')) as partner_id
    from invoices as i
    join mapped as m on m."InvoiceId" = i.invoice_number and m.billing_period = i.billing_period
    where coalesce(i.tax, 0) <> 0 and m.focus_row_kind <> 'daily'
    group by all
),

focus_rows as (
    select * exclude (focus_row_kind) from mapped
    where focus_row_kind <> 'itemised'

    union all by name

    select
        t.tax::decimal(28, 6) as "BilledCost",
        {{ focus_billed_to_partner() }}
        'Tax' as "ChargeCategory",
        'Tax on invoice ' || t.invoice_number as "ChargeDescription",
        'One-Time' as "ChargeFrequency",
        timezone('UTC', (t.billing_period + interval 1 month)::timestamp) as "ChargePeriodEnd",
        timezone('UTC', t.billing_period::timestamp) as "ChargePeriodStart",
        t.tax::decimal(28, 6) as "ContractedCost",
        t.tax::decimal(28, 6) as "EffectiveCost",
        t.invoice_number as "InvoiceId",
        {{ focus_microsoft_invoice_issuer() }} as "InvoiceIssuerName",
        0::decimal(38, 12) as "ListCost",
        t.currency as "PricingCurrency",
        'Microsoft' as "ProviderName",
        'Microsoft' as "PublisherName",
        'Other' as "ServiceCategory",
        'Tax' as "ServiceName",
        'Microsoft' as "ServiceProviderName",
        'Microsoft' as "HostProviderName",
        'tax' as "x_ChargeSource",
        t.line_tax::decimal(28, 6) as "x_LineTax",
        'tax:' || t.invoice_number as "x_ChargeId",
        t.billing_period
    from tax_rows as t
)

-- union all by name keeps the first branch's column order, the order documented.
select * from focus_rows
