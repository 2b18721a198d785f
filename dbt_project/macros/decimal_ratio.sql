{# numerator / denominator as DECIMAL(38,4), truncated. DuckDB divides decimals into DOUBLE,
   and money never passes through floating point here, so the ratio is computed on integers
   (hugeint); any ratio of two amounts up to 10^20 fits, so percentages never overflow. #}
{% macro decimal_ratio(numerator, denominator) -%}
    (
        (({{ numerator }}) * 1000000)::hugeint * 10000
        // nullif((({{ denominator }}) * 1000000)::hugeint, 0)
    )::decimal(34, 0) * 0.0001
{%- endmacro %}
