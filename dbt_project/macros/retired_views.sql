{# Before intermediate models became ephemeral they were views in schema `intermediate`,
   written with the months of the run that created them. None is read any more. #}
{% macro drop_retired_intermediate_views() -%}
    {%- for name in ['int_charges_priced', 'int_service_charges_monthly'] %}
        drop view if exists intermediate.{{ name }};
    {%- endfor %}
{%- endmacro %}
