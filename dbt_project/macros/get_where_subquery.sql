{# Tests on marts, staging and intermediate views look at the months being rebuilt only: their cost follows
   the month's size, not the history's. Any `where` a test configures still applies. Seeds
   (config) have no month. #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if relation.schema in ('marts', 'intermediate', 'staging') -%}
        {%- set where = in_rebuilt_periods() ~ (' and (' ~ where ~ ')' if where else '') -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%} (select * from {{ relation }} where {{ where }}) dbt_subquery {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
