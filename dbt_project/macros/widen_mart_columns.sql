{# Marts built by earlier versions hold money in DECIMAL(18, x), which overflows at 10^12 (a
   large JPY or HUF customer). Those columns are widened in place, before any model runs, to the
   type the mart's contract declares: every new type has as many decimals and more integer
   digits than the old one, so no value changes, and the column order stays. Only DECIMAL
   columns are widened; any other difference is the contract's to report. #}
{% macro mart_column_types() -%}
    {%- set wanted = {} -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.fqn[1] == 'marts' -%}
        {%- set columns = {} -%}
        {%- for column in node.columns.values() if (column.data_type or '')[:7] | lower == 'decimal' -%}
            {%- do columns.update({column.name: column.data_type | replace(' ', '') | upper}) -%}
        {%- endfor -%}
        {%- do wanted.update({node.alias or node.name: columns}) -%}
    {%- endfor -%}
    {%- do return(wanted) -%}
{%- endmacro %}

{% macro widen_mart_columns() -%}
    {%- if execute -%}
        {%- set wanted = mart_column_types() -%}
        {%- set found = run_query(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'"
        ) -%}
        {%- for table, column, data_type in found.rows -%}
            {%- set target = wanted.get(table, {}).get(column) -%}
            {%- if target and data_type[:7] | upper == 'DECIMAL' and data_type | replace(' ', '') | upper != target -%}
                {%- do log('Widening marts.' ~ table ~ '.' ~ column ~ ' from ' ~ data_type ~ ' to ' ~ target, info=true) -%}
                {%- do run_query('alter table marts.' ~ table ~ ' alter column ' ~ column ~ ' type ' ~ target) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
