{#-
    Input rows a feature family needs for this build: those within `lookback_rows` rows before the
    ticker's first new row (int_prices__refresh_window), so windows ending on a new row see their whole
    history and nothing older is recomputed. `lookback_rows` is a number or a SQL expression that may use
    `refresh_window.first_new_row` (for windows anchored to fixed row blocks). Renders a WHERE-ready
    predicate on `alias.ticker`/`alias.ticker_row`.
-#}
{% macro refresh_input(alias, lookback_rows) %}
    {%- if lookback_rows is none -%}
        {{ exceptions.raise_compiler_error("refresh_input needs lookback_rows: the longest window of the family, in rows") }}
    {%- endif -%}
    exists (
        select 1
        from {{ ref('int_prices__refresh_window') }} as refresh_window
        where
            refresh_window.ticker = {{ alias }}.ticker
            and refresh_window.first_new_row <= refresh_window.last_row
            and {{ alias }}.ticker_row > refresh_window.first_new_row - ({{ lookback_rows }})
    )
{% endmacro %}

{#- Output rows of this build: only the new ones (on a full build, all), by `alias.trade_date`. -#}
{% macro refresh_output(alias) %}
    exists (
        select 1
        from {{ ref('int_prices__refresh_window') }} as refresh_window
        where
            refresh_window.ticker = {{ alias }}.ticker
            and {{ alias }}.trade_date >= refresh_window.first_new_date
    )
{% endmacro %}
