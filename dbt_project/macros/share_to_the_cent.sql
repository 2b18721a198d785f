{#- Shares an amount to the cent over rows in proportion to weights, exactly: each row of
   `relation` gets `shared_amount` DECIMAL(28,2), whose sum over a partition is `total` (an
   expression to the cent, the same on every row of the partition). The weight is a decimal of
   at most 10 places (a cost), taken as an integer of 10^-10 units. Each row first gets the floor
   of its exact share in cents; the cents left go one each to the largest remainders, ties
   broken by `tie_order` (a fixed order, so a re-run gives the same cents). A partition whose
   weights add up to zero is shared equally; a negative total weight is turned positive, so the
   shares keep the sign of the total. -#}
{% macro share_to_the_cent(relation, partition_by, total, weight, tie_order) -%}
select
    * exclude (lr_cents, lr_units, lr_numerator, lr_denominator, lr_floor, lr_leftover, lr_rank),
    ((lr_floor + case when lr_rank <= lr_leftover then 1 else 0 end)::decimal(38, 0) * 0.01)::decimal(28, 2)
        as shared_amount
from (
    select
        *,
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
                    *,
                    (({{ total }}) * 100)::hugeint as lr_cents,
                    (({{ weight }})::decimal(38, 10) * 10000000000)::hugeint as lr_units
                from {{ relation }}
            )
            window lr_partition as (partition by {{ partition_by }})
        )
    )
)
{%- endmacro %}
