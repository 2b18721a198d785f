{# Models land in exactly the schema they name (staging, intermediate, marts), as the
   warehouse contract promises, not in `main_staging`. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
