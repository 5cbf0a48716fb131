-- Where features meet labels: one row per (ticker, trade_date) whose label is known (horizon: var
-- label_horizon_days), with the features' ranks within the day (fct_feature_ranks), the market regime of
-- the date and both labels: label_up_5d and the cross-sectional label_beats_median_5d (known with it).
-- Reads fct_features v1 explicitly, so a v2 cannot change it by surprise.
-- A training job must still keep only rows with label_known_date <= its cutoff (for
-- label_beats_median_5d: label_beats_median_known_date <= its cutoff; see docs/features.md).
with features as (
    select * from {{ ref('fct_features', v=1) }}
),

ranks as (
    select * from {{ ref('fct_feature_ranks') }}
),

labels as (
    select * from {{ ref('fct_labels') }}
),

regimes as (
    select * from {{ ref('fct_market_regimes') }}
),

known_labels as (
    select *
    from labels
    where label_up_5d is not null
),

-- The rows this build must write, from this mart's own state, by whole trade_dates: every day with a known
-- label not yet here (on a full build, all) or whose cross-sectional label moved since it was written (a
-- ticker of the day whose label became known later, e.g. one with a missing row in its window, moves the
-- day's median). A day is rewritten whole, so its rows also take the day's current ranks. A label, once
-- known, and the features of its row never change on a daily build, so the other days stay; a build that
-- stopped before this mart is caught up by the next one.
{%- if is_incremental() %}
stale_days as (
    select distinct known_labels.trade_date
    from known_labels
    left join {{ this }} as built
        on known_labels.ticker = built.ticker and known_labels.trade_date = built.trade_date
    where
        built.ticker is null
        or built.label_beats_median_5d is distinct from known_labels.label_beats_median_5d
        or built.label_beats_median_known_date is distinct from known_labels.label_beats_median_known_date
),
{%- endif %}

missing as (
    select known_labels.*
    from known_labels
    {%- if is_incremental() %}
        inner join stale_days on known_labels.trade_date = stale_days.trade_date
    {%- endif %}
),

final as (
    select
        features.*,
        {%- for feature in stock_level_features() %}
            ranks.{{ feature }}_xs_rank,
        {%- endfor %}
        regimes.trend_state,
        regimes.vol_state,
        regimes.regime_id,
        missing.fwd_ret_5d,
        missing.label_up_5d,
        missing.label_beats_median_5d,
        missing.label_known_date,
        missing.label_beats_median_known_date
    from features
    inner join missing
        on features.ticker = missing.ticker and features.trade_date = missing.trade_date
    left join ranks
        on features.ticker = ranks.ticker and features.trade_date = ranks.trade_date
    left join regimes on features.trade_date = regimes.trade_date
)

select * from final
