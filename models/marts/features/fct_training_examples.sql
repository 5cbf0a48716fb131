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

refresh_window as (
    select * from {{ ref('int_prices__refresh_window') }}
),

-- Rows to (re)write: those whose label or features this build may have changed (the new rows and the
-- label_horizon_days rows before them, whose labels became known on a new date); on a full build, all.
recent_labels as (
    select labels.*
    from labels
    inner join refresh_window on labels.ticker = refresh_window.ticker
    where labels.label_known_date >= refresh_window.first_new_date or refresh_window.first_new_row = 1
),

regimes as (
    select * from {{ ref('fct_market_regimes') }}
),

final as (
    select
        features.*,
        regimes.trend_state,
        regimes.vol_state,
        regimes.regime_id,
        labels.fwd_ret_5d,
        labels.label_up_5d,
        labels.label_known_date
    from features
    inner join recent_labels as labels
        on features.ticker = labels.ticker and features.trade_date = labels.trade_date
    left join regimes on features.trade_date = regimes.trade_date
    where labels.label_up_5d is not null
)

select * from final
