-- The 12 market regimes by trading date (see int_market__regimes), for users and ml/.
with regimes as (
    select * from {{ ref('int_market__regimes') }}
),

final as (
    select
        trade_date,
        trend_state,
        vol_state,
        regime_id,
        volatility_level,
        volatility_source
    from regimes
)

select * from final
