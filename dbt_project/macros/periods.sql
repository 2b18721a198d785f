{# The months this run rebuilds: every incremental mart deletes them first, then inserts them,
   so a re-run is idempotent and other months are never touched. Dagster sets the range in the
   environment (not --vars, which would void dbt's partial parsing on every run); by hand, the
   defaults cover every month. #}
{% macro in_rebuilt_periods(column='billing_period') -%}
    {{ column }} between '{{ env_var("CSP_RECON_MIN_PERIOD", "2015-01-01") }}'::date
        and '{{ env_var("CSP_RECON_MAX_PERIOD", "2999-12-01") }}'::date
{%- endmacro %}

{% macro delete_rebuilt_periods() -%}
    {% if is_incremental() %}
        delete from {{ this }} where {{ in_rebuilt_periods() }}
    {% endif %}
{%- endmacro %}
