{#-
    The rank of `value` among the day's tickers, scaled to [0, 1]: percent_rank() = (rank - 1) / (n - 1)
    over the rows of the partition where `value` is not NULL (the NULL rows get their own partition and
    the case gives them NULL), so a NULL neither takes a rank nor moves the others'. Ties share the lower
    rank (rank(), not row_number()); a partition with one non-NULL value gives 0, as percent_rank does.
    Portable SQL (a window function and a case), so no adapter.dispatch.
-#}
{% macro cross_sectional_rank(value, partition_by='trade_date') -%}
    {%- if value is not string or value | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "cross_sectional_rank needs `value`: the SQL expression (a column name) to rank, got " ~ value
        ) }}
    {%- endif -%}
    {#- One line: it renders inside a select list that a loop generates. -#}
    {%- set window = "partition by " ~ partition_by ~ ", (" ~ value ~ " is null) order by " ~ value -%}
    case when {{ value }} is not null then percent_rank() over ({{ window }}) end
{%- endmacro %}
