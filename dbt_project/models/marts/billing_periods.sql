{{ config(materialized='table') }}

-- FOCUS 1.4 Billing Period dataset for the partner's own invoices (issue 14). A table rebuilt
-- whole on every run and after each approve / issue: every month, one row.
{%- set status_source = source('billing', 'month_status') %}
{%- set history_source = source('billing', 'month_status_history') %}
{%- set status_exists = execute and adapter.get_relation(database=status_source.database, schema=status_source.schema, identifier=status_source.identifier) %}

with months as (
    select distinct billing_period from {{ ref('customer_monthly') }}
    {%- if status_exists %}
    union
    select billing_period from {{ status_source }}
    {%- endif %}
),

{%- if status_exists %}
history as (
    select billing_period, min(changed_at) as first_change, max(changed_at) as last_change, count(*) as changes
    from {{ history_source }}
    group by billing_period
),
{%- endif %}

statuses as (
    select
        months.billing_period,
        {%- if status_exists %}
        coalesce(s.status, 'open') as status,
        coalesce(s.created_at, h.first_change) as created_at,
        coalesce(h.last_change, s.updated_at) as last_updated_at,
        s.invoice_issuer_name,
        s.approved_by,
        s.approved_at,
        s.acknowledged_checks,
        coalesce(h.changes, 0) as status_changes
        {%- else %}
            'open' as status,
            null::timestamp as created_at,
            null::timestamp as last_updated_at,
            null::varchar as invoice_issuer_name,
            null::varchar as approved_by,
            null::timestamp as approved_at,
            null::varchar as acknowledged_checks,
            0 as status_changes
        {%- endif %}
    from months
    {%- if status_exists %}
    left join {{ status_source }} s using (billing_period)
    left join history h using (billing_period)
    {%- endif %}
)

select
    billing_period::date as billing_period_start,
    (billing_period + interval 1 month)::date as billing_period_end,
    (case when status in ('issued', 'correction_pending') then 'Closed' else 'Open' end)::varchar as billing_period_status,
    status::varchar as x_status,
    created_at::timestamp as created_at,
    last_updated_at::timestamp as last_updated_at,
    coalesce(invoice_issuer_name, partner.legal_name)::varchar as invoice_issuer_name,
    approved_by::varchar as x_approved_by,
    approved_at::timestamp as x_approved_at,
    acknowledged_checks::varchar as x_acknowledged_checks,
    status_changes::bigint as x_status_changes
from statuses
-- A month never approved has no issuer recorded yet: the partner of the configuration issues it.
cross join (select legal_name from {{ source('config', 'partner_profile') }}) as partner
