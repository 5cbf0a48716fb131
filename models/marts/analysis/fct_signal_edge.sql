-- Signal edge pooled over the universe, one row per score: every (ticker, day) together, with a
-- Driscoll-Kraay t-statistic (each day's cross-section summed first, then Newey-West over days with
-- lags = horizon - 1), because stocks move together on a day and the forward windows overlap; plus how
-- many tickers show a positive edge on their own (fct_signal_edge_by_ticker).
{%- set horizon = signal_edge_horizon() %}

with pooled as (
    {{ signal_edge(ref('fct_signal_edge_observations'), ['score_name'], horizon - 1) }}
),

by_ticker as (
    select * from {{ ref('fct_signal_edge_by_ticker') }}
),

breadth as (
    select
        score_name,
        count(*) as tickers,
        count(edge) as tickers_with_edge,
        cast(sum(case when edge > 0 then 1 else 0 end) as bigint) as tickers_positive,
        cast(sum(case when t_stat > 2 then 1 else 0 end) as bigint) as tickers_significant_positive,
        cast(sum(case when t_stat < -2 then 1 else 0 end) as bigint) as tickers_significant_negative
    from by_ticker
    group by score_name
),

final as (
    select
        pooled.score_name,
        cast({{ var('signal_edge_threshold') }} as double) as threshold,
        cast({{ horizon }} as integer) as horizon_days,
        pooled.n_days,
        pooled.n_high,
        pooled.n_low,
        pooled.mean_high,
        pooled.mean_low,
        pooled.edge,
        pooled.standard_error,
        pooled.t_stat,
        breadth.tickers,
        breadth.tickers_with_edge,
        breadth.tickers_positive,
        {{ safe_divide('breadth.tickers_positive', 'breadth.tickers_with_edge') }} as share_tickers_positive,
        breadth.tickers_significant_positive,
        breadth.tickers_significant_negative
    from pooled
    left join breadth on pooled.score_name = breadth.score_name
)

select * from final
