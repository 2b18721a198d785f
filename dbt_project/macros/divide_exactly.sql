{# numerator x multiplier / divisor, rounded half away from zero to `places` decimals, exactly:
   DuckDB divides decimals into DOUBLE, and money never passes through floating point here.
   `numerator` must have at most `numerator_scale` decimals and fewer than 14 integer digits
   beyond 10^12 (the hugeint holds 38 digits); multiplier and divisor are integers. #}
{% macro divide_exactly(numerator, multiplier, divisor, places=2, numerator_scale=12) -%}
    {%- set scaled -%} ((({{ numerator }}) * {{ 10 ** numerator_scale }})::hugeint * ({{ multiplier }}) * {{ 10 ** places }}) {%- endset -%}
    {%- set denominator -%} (({{ divisor }})::hugeint * {{ 10 ** numerator_scale }}) {%- endset -%}
    (
        (({{ scaled }} + sign({{ scaled }}) * ({{ denominator }} // 2)) // nullif({{ denominator }}, 0))::decimal({{ 38 - places }}, 0)
        * {{ '0.' ~ '0' * (places - 1) ~ '1' }}
    )::decimal(38, {{ places }})
{%- endmacro %}
