{# numerator / denominator as DECIMAL(18,4), truncated. DuckDB divides decimals into DOUBLE,
   and money never passes through floating point here, so the ratio is computed on integers. #}
{% macro decimal_ratio(numerator, denominator) -%}
    (
        ({{ numerator }} * 1000000)::hugeint * 10000
        // nullif(({{ denominator }} * 1000000)::hugeint, 0)
    )::decimal(18, 0) * 0.0001
{%- endmacro %}
