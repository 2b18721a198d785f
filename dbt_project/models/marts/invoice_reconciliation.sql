-- Does Microsoft's invoice equal the sum of its reconciliation files? One row per invoice.
--   Legacy D-invoice: license + usage pre-tax (+ the invoice's other charges) = the invoice's
--   pre-tax exactly; tax within reconciliation_tax_tolerance; Total = pre-tax + Tax exactly.
--   New-commerce G-invoice: the lines' Subtotal = the invoice's Subtotal exactly, positive
--   lines = Charges and negative lines = Credits exactly; Total = Subtotal + Tax exactly; tax
--   within the tolerance, or TaxTotal 0 on every line (Microsoft may leave tax to the invoice
--   alone, recon-formats.md §8.3).
--   Partner Center API Invoice documents carry only totalCharges: totals including tax are
--   compared there, within the tolerance.
with recon as (
    select
        billing_period, invoice_number,
        min(currency) as currency,
        sum(case when source = 'license' then cost_pretax else 0 end) as recon_license_pretax,
        sum(case when source = 'usage' then cost_pretax else 0 end) as recon_usage_pretax,
        sum(cost_pretax) as recon_pretax,
        sum(cost_tax) as recon_tax,
        sum(case when cost_pretax > 0 then cost_pretax else 0 end) as recon_charges,
        sum(case when cost_pretax < 0 then cost_pretax else 0 end) as recon_credits,
        count(*) as recon_line_count
    from {{ ref('fct_charges') }}
    where {{ in_rebuilt_periods() }}
    group by all
),

invoices as (
    select
        billing_period, invoice_number, currency,
        license_charges, usage_charges, other_charges, charges, credits, subtotal, tax, total,
        case
            when subtotal is not null then 'nce'
            when license_charges is not null or usage_charges is not null then 'legacy'
            else 'api'
        end as invoice_kind,
        case
            when subtotal is not null then subtotal
            else license_charges + usage_charges + coalesce(other_charges, 0)
        end as invoice_pretax
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
        r.invoice_number is not null as in_recon,
        coalesce(i.invoice_kind, case when r.invoice_number ilike 'G%' then 'nce' else 'legacy' end) as invoice_kind,
        coalesce(r.recon_charges, 0) as recon_charges,
        coalesce(r.recon_credits, 0) as recon_credits,
        i.charges as invoice_charges,
        i.credits as invoice_credits
    from invoices as i
    full outer join recon as r
        on r.billing_period = i.billing_period and r.invoice_number = i.invoice_number
),

compared as (
    select
        *,
        recon_pretax + other_charges - invoice_pretax as pretax_difference,
        recon_tax - invoice_tax as tax_difference,
        recon_pretax + other_charges + recon_tax - invoice_total as total_difference,
        recon_charges - invoice_charges as charges_difference,
        recon_credits - invoice_credits as credits_difference,
        -- The invoice's own arithmetic: its Total must be its pre-tax plus its Tax.
        invoice_total - invoice_pretax - invoice_tax as invoice_total_difference,
        abs(recon_tax - invoice_tax) <= {{ var('reconciliation_tax_tolerance') }}
        or (invoice_kind = 'nce' and recon_tax = 0) as tax_agrees
    from joined
)

select
    billing_period,
    invoice_number,
    currency,
    recon_license_pretax::decimal(28, 6) as recon_license_pretax,
    recon_usage_pretax::decimal(28, 6) as recon_usage_pretax,
    recon_pretax::decimal(28, 6) as recon_pretax,
    other_charges::decimal(28, 6) as other_charges,
    invoice_license_pretax::decimal(28, 6) as invoice_license_pretax,
    invoice_usage_pretax::decimal(28, 6) as invoice_usage_pretax,
    invoice_pretax::decimal(28, 6) as invoice_pretax,
    recon_tax::decimal(28, 6) as recon_tax,
    invoice_tax::decimal(28, 6) as invoice_tax,
    invoice_total::decimal(28, 6) as invoice_total,
    pretax_difference::decimal(28, 6) as pretax_difference,
    tax_difference::decimal(28, 6) as tax_difference,
    total_difference::decimal(28, 6) as total_difference,
    recon_line_count,
    case
        when not in_recon then 'missing_recon'
        when not in_summary then 'missing_invoice'
        when invoice_kind = 'api'
            then case when abs(total_difference) <= {{ var('reconciliation_tax_tolerance') }} then 'matched' else 'mismatch' end
        when
            pretax_difference = 0 and tax_agrees and invoice_total_difference = 0
            and (invoice_kind <> 'nce' or (charges_difference = 0 and credits_difference = 0)) then 'matched'
        else 'mismatch'
    end as status,
    invoice_kind,
    recon_charges::decimal(28, 6) as recon_charges,
    recon_credits::decimal(28, 6) as recon_credits,
    invoice_charges::decimal(28, 6) as invoice_charges,
    invoice_credits::decimal(28, 6) as invoice_credits,
    charges_difference::decimal(28, 6) as charges_difference,
    credits_difference::decimal(28, 6) as credits_difference,
    invoice_total_difference::decimal(28, 6) as invoice_total_difference
from compared
