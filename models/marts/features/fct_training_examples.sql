-- Where features meet labels: one row per (ticker, trade_date) whose label is known (horizon: var
-- label_horizon_days), with the market regime of the date. Reads fct_features v1 explicitly, so a v2
-- cannot change it by surprise.
-- A training job must still keep only rows with label_known_date <= its cutoff (see docs/features.md).
with features as (
    select * from {{ ref('fct_features', v=1) }}
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

-- The rows this build must write, from this mart's own state: the known labels not yet here (on a full
-- build, all). A label, once known, and the features of its row never change on a daily build, so rows
-- already here stay; a build that stopped before this mart is caught up by the next one.
missing as (
    select known_labels.*
    from known_labels
    {%- if is_incremental() %}
        left join {{ this }} as built
            on known_labels.ticker = built.ticker and known_labels.trade_date = built.trade_date
        where built.ticker is null
    {%- endif %}
),

final as (
    select
        features.*,
        regimes.trend_state,
        regimes.vol_state,
        regimes.regime_id,
        missing.fwd_ret_5d,
        missing.label_up_5d,
        missing.label_known_date
    from features
    inner join missing
        on features.ticker = missing.ticker and features.trade_date = missing.trade_date
    left join regimes on features.trade_date = regimes.trade_date
)

select * from final
