{# The months this run rebuilds: every incremental mart deletes them first, then inserts them,
   so a re-run is idempotent and other months are never touched. #}
{% macro in_rebuilt_periods(column='billing_period') -%}
    {{ column }} between '{{ var("min_period") }}'::date and '{{ var("max_period") }}'::date
{%- endmacro %}

{% macro delete_rebuilt_periods() -%}
    {% if is_incremental() %}
        delete from {{ this }} where {{ in_rebuilt_periods() }}
    {% endif %}
{%- endmacro %}
