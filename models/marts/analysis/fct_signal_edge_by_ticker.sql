-- Signal edge per (score, ticker): mean forward return on days with the score above the threshold minus
-- the mean on the other days, with a Newey-West t-statistic (lags = horizon - 1, for the overlapping
-- forward windows). The statistics are the `signal_edge` macro's (macros/analysis/signal_edge.sql).
{%- set horizon = signal_edge_horizon() %}

with edges as (
    {{ signal_edge(ref('fct_signal_edge_observations'), ['score_name', 'ticker'], horizon - 1) }}
),

final as (
    select
        score_name,
        ticker,
        cast({{ var('signal_edge_threshold') }} as double) as threshold,
        cast({{ horizon }} as integer) as horizon_days,
        n_days,
        n_high,
        n_low,
        mean_high,
        mean_low,
        edge,
        standard_error,
        t_stat
    from edges
)

select * from final
