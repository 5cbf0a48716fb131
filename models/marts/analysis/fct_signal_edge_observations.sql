-- The signal-edge sample, one row per (score_name, ticker, trade_date): a score of the feature mart,
-- whether it is above the threshold, and the forward return over the next `signal_edge_horizon` rows.
-- Scores, threshold and horizon are dbt vars (dbt_project.yml); the horizon defaults to the label
-- horizon (label_horizon_days), see the signal_edge_horizon macro, e.g.
--   dbt build -s +fct_signal_edge --vars '{signal_edge_threshold: 80, signal_edge_horizon: 10}'
-- Days whose score or forward return is NULL (warm-up, the last rows of the data, a window across a gap
-- in the ticker's prices: the gap rule of fct_labels) are left out.
{%- set scores = var('signal_edge_scores') -%}
{%- set threshold = var('signal_edge_threshold') -%}
{%- set horizon = signal_edge_horizon() -%}
{%- if scores is string or scores | length == 0 -%}
    {{ exceptions.raise_compiler_error("var signal_edge_scores must be a list of fct_features columns, got " ~ scores) }}
{%- endif -%}
{%- if threshold is not number -%}
    {{ exceptions.raise_compiler_error("var signal_edge_threshold must be a number, got " ~ threshold) }}
{%- endif %}

with features as (
    select * from {{ ref('fct_features', v=1) }}
),

prices as (
    select * from {{ ref('int_prices__sequenced') }}
),

ahead as (
    select
        ticker,
        trade_date,
        close,
        lead(close, {{ horizon }}) over (partition by ticker order by ticker_row) as close_ahead,
        lead(trade_date, {{ horizon }}) over (partition by ticker order by ticker_row) as date_ahead
    from prices
),

-- The labels' gap rule (macro forward_window_spans_gap): no forward return over a gap in the prices.
forward as (
    select
        ticker,
        trade_date,
        case
            when not {{ forward_window_spans_gap('trade_date', 'date_ahead', horizon) }}
                then {{ safe_divide('close_ahead', 'close') }} - 1
        end as fwd_ret
    from ahead
),

scored as (
    {%- for score in scores %}
        select
            '{{ score }}' as score_name,
            features.ticker,
            features.trade_date,
            features.{{ score }} as score,
            case when features.{{ score }} > {{ threshold }} then 1 else 0 end as is_high
        from features
        where features.{{ score }} is not null
        {{ 'union all' if not loop.last }}
    {%- endfor %}
),

final as (
    select
        scored.score_name,
        scored.ticker,
        scored.trade_date,
        scored.score,
        scored.is_high,
        forward.fwd_ret
    from scored
    inner join forward on scored.ticker = forward.ticker and scored.trade_date = forward.trade_date
    where forward.fwd_ret is not null
)

select * from final
