{#- Shares an amount to the cent over rows in proportion to weights, exactly: each row of
   `relation` gets `shared_amount` DECIMAL(28,2), whose sum over a partition is `total` (an
   expression to the cent, the same on every row of the partition). The weight is a decimal of
   at most 10 places (a cost), taken as an integer of 10^-10 units. Each row first gets the floor
   of its exact share in cents; the cents left go one each to the largest remainders, ties
   broken by `tie_order` (a fixed order, so a re-run gives the same cents). A partition whose
   weights add up to zero is shared equally; a negative total weight is turned positive, so the
   shares keep the sign of the total.

   `tie_order` lists columns of `relation`, each optionally followed by ASC, DESC or NULLS
   FIRST/LAST. The windows see only those columns, the partition's, the amounts and a row
   number: the relation's other columns (a daily usage line has dozens, some long texts) join
   back by that number. A month of ten million daily lines no longer carries every column
   through four windows (about 4 minutes down to seconds). -#}
{% macro share_to_the_cent(relation, partition_by, total, weight, tie_order) -%}
{%- set narrow_columns = [] -%}
{%- for item in (partition_by ~ ',' ~ tie_order).split(',') -%}
    {%- if item.split()[0] not in narrow_columns -%}{%- do narrow_columns.append(item.split()[0]) -%}{%- endif -%}
{%- endfor -%}
with lr_rows as materialized (
    select *, row_number() over () as lr_row from {{ relation }}
),

lr_shares as (
    select
        lr_row,
        ((lr_floor + case when lr_rank <= lr_leftover then 1 else 0 end)::decimal(38, 0) * 0.01)::decimal(28, 2)
            as shared_amount
    from (
        select
            lr_row,
            lr_floor,
            lr_cents - sum(lr_floor) over (partition by {{ partition_by }}) as lr_leftover,
            row_number() over (
                partition by {{ partition_by }}
                order by lr_numerator - lr_floor * lr_denominator desc, {{ tie_order }}
            ) as lr_rank
        from (
            select
                *,
                -- Floor division (// truncates towards zero; the denominator is positive).
                lr_numerator // lr_denominator - case when lr_numerator % lr_denominator < 0 then 1 else 0 end as lr_floor
            from (
                select
                    *,
                    lr_cents * case
                        when sum(lr_units) over lr_partition = 0 then 1
                        else sign(sum(lr_units) over lr_partition) * lr_units
                    end as lr_numerator,
                    case
                        when sum(lr_units) over lr_partition = 0 then count(*) over lr_partition
                        else abs(sum(lr_units) over lr_partition)
                    end as lr_denominator
                from (
                    select
                        lr_row,
                        {{ narrow_columns | join(', ') }},
                        (({{ total }}) * 100)::hugeint as lr_cents,
                        (({{ weight }})::decimal(38, 10) * 10000000000)::hugeint as lr_units
                    from lr_rows
                )
                window lr_partition as (partition by {{ partition_by }})
            )
        )
    )
)

select lr_rows.* exclude (lr_row), lr_shares.shared_amount
from lr_rows
join lr_shares on lr_shares.lr_row = lr_rows.lr_row
{%- endmacro %}
