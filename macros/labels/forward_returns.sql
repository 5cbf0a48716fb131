{#-
    The forward return over `horizon` rows of each row of `prices` (a relation or CTE with ticker,
    ticker_row, trade_date and close: int_prices__sequenced), as a select: ticker, trade_date, close,
    close_ahead (the close `horizon` rows ahead), date_ahead (that row's date) and fwd_ret (close_ahead /
    close - 1). close_ahead and fwd_ret are NULL while row t+h is not in the data, and when the window spans
    a gap in the ticker's prices (the gap rule, forward_window_spans_gap); date_ahead is row t+h's date either
    way, the day the return became known (or known to be void). The one place the forward return is
    written: fct_labels and fct_signal_edge_observations both select from it.
-#}
{% macro forward_returns(prices, horizon) %}
    {%- if horizon is not number or horizon < 1 -%}
        {{ exceptions.raise_compiler_error(
            "forward_returns needs `horizon`: the window's length in rows (>= 1), got " ~ horizon
        ) }}
    {%- endif %}
    select
        ticker,
        trade_date,
        close,
        case
            when not {{ forward_window_spans_gap('trade_date', 'date_ahead', horizon) }} then close_ahead
        end as close_ahead,
        date_ahead,
        case
            when not {{ forward_window_spans_gap('trade_date', 'date_ahead', horizon) }}
                then {{ safe_divide('close_ahead', 'close') }} - 1
        end as fwd_ret
    from (
        select
            ticker,
            trade_date,
            close,
            lead(close, {{ horizon }}) over (partition by ticker order by ticker_row) as close_ahead,
            lead(trade_date, {{ horizon }}) over (partition by ticker order by ticker_row) as date_ahead
        from {{ prices }}
    ) as ahead
{% endmacro %}
