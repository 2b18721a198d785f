-- Azure consumption per customer, Azure subscription, meter, resource group and day, priced:
-- billed rows carry their share of the invoice's Azure lines (they add up to them exactly),
-- unbilled rows an estimate at the customer's rule. invoice_group is the invoice line the row
-- is printed under, by the customer's azure_grouping (customers.csv): the Azure subscription
-- (default), the resource group, or the value of one tag (its key matched in any case).
-- Columns added after the first release go at the end.
with usage as (
    select * from {{ ref('int_azure_daily_usage_priced') }}
),

customers as (
    select
        lower(customer_id) as customer_id,
        coalesce(azure_grouping, 'subscription') as azure_grouping,
        case when azure_grouping like 'tag:%' then substr(azure_grouping, 5) end as tag_key
    from {{ source('config', 'customers') }}
),

labelled as (
    select
        usage.*,
        coalesce(customers.azure_grouping, 'subscription') as azure_grouping,
        customers.tag_key,
        case
            when customers.tag_key is not null then json_extract_string(
                usage.tags_text::json,
                '$."' || list_filter(json_keys(usage.tags_text::json), lambda k: lower(k) = lower(customers.tag_key))[1] || '"'
            )
        end as tag_value
    from usage
    left join customers using (customer_id)
)

select
    billing_period,
    invoice_number,
    line_status,
    customer_id,
    coalesce(customer_name, max(customer_name) over (partition by billing_period, customer_id)) as customer_name,
    currency,
    subscription_id,
    entitlement_id,
    entitlement_description,
    product_key as product_id,
    sku_key as sku_id,
    product_name,
    meter_id,
    meter_name,
    meter_category,
    meter_sub_category,
    meter_region,
    unit,
    resource_group,
    usage_date,
    tags_text::json as tags,
    quantity::decimal(38, 18) as quantity,
    cost_pretax::decimal(38, 18) as cost_pretax,
    billed_pretax::decimal(28, 2) as billed_pretax,
    estimated_pretax::decimal(28, 6) as estimated_pretax,
    coalesce(billed_pretax, estimated_pretax)::decimal(28, 6) as sell_pretax,
    pricing_rule_id,
    azure_grouping,
    case
        when line_status = 'not_itemised' then 'Azure usage not itemised in the daily usage file'
        when azure_grouping = 'resource_group'
            then
                coalesce('Azure resource group ' || resource_group, 'Azure usage without a resource group')
        when tag_key is not null
            then
                coalesce('Azure tag ' || tag_key || ': ' || tag_value, 'Azure usage without tag ' || tag_key)
        else 'Azure subscription ' || coalesce(entitlement_description || ' (' || entitlement_id || ')', entitlement_id, subscription_id)
    end as invoice_group,
    usage_lines::bigint as usage_lines
from labelled
