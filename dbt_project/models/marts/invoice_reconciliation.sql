-- Does Microsoft's invoice equal the sum of its reconciliation files? One row per invoice.
with recon as (
    select
        billing_period, invoice_number,
        min(currency) as currency,
        sum(case when source = 'license' then cost_pretax else 0 end) as recon_license_pretax,
        sum(case when source = 'usage' then cost_pretax else 0 end) as recon_usage_pretax,
        sum(cost_pretax) as recon_pretax,
        sum(cost_tax) as recon_tax,
        count(*) as recon_line_count
    from {{ ref('fct_charges') }}
    where {{ in_rebuilt_periods() }}
    group by all
),

invoices as (
    select
        billing_period, invoice_number, currency,
        license_charges, usage_charges, other_charges, tax, total,
        license_charges + usage_charges + coalesce(other_charges, 0) as invoice_pretax
    from {{ ref('stg_partner_center__invoices') }}
    where {{ in_rebuilt_periods() }}
),

joined as (
    select
        coalesce(i.billing_period, r.billing_period) as billing_period,
        coalesce(i.invoice_number, r.invoice_number) as invoice_number,
        coalesce(i.currency, r.currency) as currency,
        coalesce(r.recon_license_pretax, 0) as recon_license_pretax,
        coalesce(r.recon_usage_pretax, 0) as recon_usage_pretax,
        coalesce(r.recon_pretax, 0) as recon_pretax,
        coalesce(i.other_charges, 0) as other_charges,
        i.license_charges as invoice_license_pretax,
        i.usage_charges as invoice_usage_pretax,
        i.invoice_pretax,
        coalesce(r.recon_tax, 0) as recon_tax,
        i.tax as invoice_tax,
        i.total as invoice_total,
        coalesce(r.recon_line_count, 0) as recon_line_count,
        i.invoice_number is not null as in_summary,
        r.invoice_number is not null as in_recon
    from invoices as i
    full outer join recon as r
      on r.billing_period = i.billing_period and r.invoice_number = i.invoice_number
)

select
    billing_period,
    invoice_number,
    currency,
    recon_license_pretax::decimal(18, 6) as recon_license_pretax,
    recon_usage_pretax::decimal(18, 6) as recon_usage_pretax,
    recon_pretax::decimal(18, 6) as recon_pretax,
    other_charges::decimal(18, 6) as other_charges,
    invoice_license_pretax::decimal(18, 6) as invoice_license_pretax,
    invoice_usage_pretax::decimal(18, 6) as invoice_usage_pretax,
    invoice_pretax::decimal(18, 6) as invoice_pretax,
    recon_tax::decimal(18, 6) as recon_tax,
    invoice_tax::decimal(18, 6) as invoice_tax,
    invoice_total::decimal(18, 6) as invoice_total,
    (recon_pretax + other_charges - invoice_pretax)::decimal(18, 6) as pretax_difference,
    (recon_tax - invoice_tax)::decimal(18, 6) as tax_difference,
    -- API Invoice documents carry only totalCharges: compare totals including tax there.
    (recon_pretax + other_charges + recon_tax - invoice_total)::decimal(18, 6) as total_difference,
    recon_line_count,
    case
        when not in_recon then 'missing_recon'
        when not in_summary then 'missing_invoice'
        when invoice_pretax is null
            then case when abs(recon_pretax + other_charges + recon_tax - invoice_total)
                           <= {{ var('reconciliation_tax_tolerance') }} then 'matched' else 'mismatch' end
        when recon_pretax + other_charges = invoice_pretax
         and abs(recon_tax - invoice_tax) <= {{ var('reconciliation_tax_tolerance') }} then 'matched'
        else 'mismatch'
    end as status
from joined
