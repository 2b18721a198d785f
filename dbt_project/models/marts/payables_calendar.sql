{{ config(materialized='table') }}

-- Cash out to Microsoft against cash in from customers (issue 14), per currency: each
-- Microsoft invoice due net 60 days after its date, each issued customer document due on its
-- due date, and per week and per month (of due date) what is owed either way. A table rebuilt
-- whole on every run and after each issue.
{%- set issued_source = source('billing', 'issued_invoices') %}
{%- set issued_exists = execute and adapter.get_relation(database=issued_source.database, schema=issued_source.schema, identifier=issued_source.identifier) %}

with microsoft as (
    select distinct on (invoice_number)
        'microsoft_invoice' as document_kind,
        invoice_number as document_number,
        'Microsoft' as counterparty,
        currency,
        invoice_date::date as document_date,
        (invoice_date + interval {{ var('microsoft_payment_terms_days') }} day)::date as due_date,
        total::decimal(28, 2) as amount
    from {{ ref('stg_partner_center__invoices') }}
    where invoice_date is not null
    order by invoice_number, billing_period desc
),

customers as (
    {%- if issued_exists %}
    select
        'customer_' || document_kind as document_kind,
        invoice_number as document_number,
        customer_name as counterparty,
        currency,
        issue_date as document_date,
        due_date,
        billed_total::decimal(28, 2) as amount
    from {{ issued_source }}
    {%- else %}
        select null::varchar, null::varchar, null::varchar, null::varchar, null::date, null::date, null::decimal(28, 2) where false
    {%- endif %}
),

documents as (
    select *, 'payable' as direction from microsoft
    union all
    select *, 'receivable' as direction from customers
),

buckets as (
    select 'week' as row_kind, date_trunc('week', due_date)::date as bucket_start, * from documents
    union all
    select 'month' as row_kind, date_trunc('month', due_date)::date as bucket_start, * from documents
),

positions as (
    select
        row_kind,
        currency,
        bucket_start,
        sum(case when direction = 'payable' then amount else 0 end)::decimal(28, 2) as owed_to_microsoft,
        sum(case when direction = 'receivable' then amount else 0 end)::decimal(28, 2) as owed_by_customers
    from buckets
    group by all
)

select
    'document' as row_kind,
    currency,
    date_trunc('week', due_date)::date as bucket_start,
    document_kind,
    document_number,
    counterparty,
    document_date,
    due_date,
    amount,
    (case when direction = 'payable' then amount else 0 end)::decimal(28, 2) as owed_to_microsoft,
    (case when direction = 'receivable' then amount else 0 end)::decimal(28, 2) as owed_by_customers,
    (case when direction = 'receivable' then amount else -amount end)::decimal(28, 2) as net_position,
    null::decimal(28, 2) as cumulative_net_position
from documents
union all
select
    row_kind,
    currency,
    bucket_start,
    null as document_kind,
    null as document_number,
    null as counterparty,
    null::date as document_date,
    null::date as due_date,
    null::decimal(28, 2) as amount,
    owed_to_microsoft,
    owed_by_customers,
    (owed_by_customers - owed_to_microsoft)::decimal(28, 2) as net_position,
    sum(owed_by_customers - owed_to_microsoft) over (
        partition by row_kind, currency order by bucket_start rows between unbounded preceding and current row
    )::decimal(28, 2) as cumulative_net_position
from positions
