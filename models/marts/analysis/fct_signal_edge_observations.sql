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

-- The labels' forward return and gap rule (macro forward_returns), over the signal edge's horizon.
forward as (
    {{ forward_returns('prices', horizon) }}
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
