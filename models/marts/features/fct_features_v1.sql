-- The feature mart, version 1: one row per (ticker, trade_date) of tradeable tickers, 60 point-in-time
-- features in six families (FEATURES.md is the contract; the column list and types are enforced).
-- Labels never enter this model: they meet the features only in fct_training_examples.
-- Incremental: a daily build computes only the new rows (int_prices__refresh_window) and merges them.
-- The latest version also answers to the unversioned name: a view marts.fct_features over it.
{{ config(post_hook="create or replace view {{ this.schema }}.fct_features as select * from {{ this }}") }}

with prices as (
    select * from {{ ref('int_prices__sequenced') }} as sequenced
    where {{ refresh_output('sequenced') }}
),

technical as (
    select * from {{ ref('int_features__technical') }}
),

volume_flow as (
    select * from {{ ref('int_features__volume_flow') }}
),

microstructure as (
    select * from {{ ref('int_features__microstructure') }}
),

sentiment as (
    select * from {{ ref('int_features__sentiment') }}
),

cross_asset as (
    select * from {{ ref('int_features__cross_asset') }}
),

events as (
    select * from {{ ref('int_features__events') }}
),

final as (
    select
        prices.ticker,
        prices.trade_date,
        -- technical
        cast(technical.ret_1d as double) as ret_1d,
        cast(technical.ret_5d as double) as ret_5d,
        cast(technical.ret_20d as double) as ret_20d,
        cast(technical.ret_60d as double) as ret_60d,
        cast(technical.rsi_14 as double) as rsi_14,
        cast(technical.macd as double) as macd,
        cast(technical.macd_signal as double) as macd_signal,
        cast(technical.macd_hist as double) as macd_hist,
        cast(technical.bb_width_20 as double) as bb_width_20,
        cast(technical.bb_pctb_20 as double) as bb_pctb_20,
        cast(technical.atr_14_pct as double) as atr_14_pct,
        cast(technical.stoch_k_14 as double) as stoch_k_14,
        cast(technical.stoch_d_3 as double) as stoch_d_3,
        cast(technical.williams_r_14 as double) as williams_r_14,
        cast(technical.roc_10 as double) as roc_10,
        cast(technical.cci_20 as double) as cci_20,
        cast(technical.adx_14 as double) as adx_14,
        cast(technical.sma_ratio_20_50 as double) as sma_ratio_20_50,
        cast(technical.dist_sma_200 as double) as dist_sma_200,
        cast(technical.volatility_20d as double) as volatility_20d,
        -- volume_flow
        cast(volume_flow.ifi_score as double) as ifi_score,
        cast(volume_flow.ad_score as double) as ad_score,
        cast(volume_flow.obv_score as double) as obv_score,
        cast(volume_flow.vroc_score as double) as vroc_score,
        cast(volume_flow.smi_score as double) as smi_score,
        -- microstructure
        cast(microstructure.clv as double) as clv,
        cast(microstructure.spread_cs_20 as double) as spread_cs_20,
        cast(microstructure.spread_roll_20 as double) as spread_roll_20,
        cast(microstructure.amihud_20 as double) as amihud_20,
        cast(microstructure.parkinson_vol_20 as double) as parkinson_vol_20,
        cast(microstructure.garman_klass_vol_20 as double) as garman_klass_vol_20,
        cast(microstructure.overnight_gap as double) as overnight_gap,
        cast(microstructure.intraday_ret as double) as intraday_ret,
        cast(microstructure.volume_z_20 as double) as volume_z_20,
        cast(microstructure.institutional_activity as double) as institutional_activity,
        -- sentiment
        cast(sentiment.sentiment_raw as double) as sentiment_raw,
        cast(sentiment.sentiment_ma5 as double) as sentiment_ma5,
        cast(sentiment.sentiment_trend as double) as sentiment_trend,
        cast(sentiment.sentiment_z_20 as double) as sentiment_z_20,
        cast(sentiment.sentiment_divergence as integer) as sentiment_divergence,
        cast(sentiment.news_volume_z_20 as double) as news_volume_z_20,
        cast(sentiment.sentiment_days_since as integer) as sentiment_days_since,
        -- cross_asset
        cast(cross_asset.vix_level as double) as vix_level,
        cast(cross_asset.vix_change_5d as double) as vix_change_5d,
        cast(cross_asset.vix_z_60 as double) as vix_z_60,
        cast(cross_asset.yield_10y_level as double) as yield_10y_level,
        cast(cross_asset.yield_10y_change_5d as double) as yield_10y_change_5d,
        cast(cross_asset.btc_overnight_ret as double) as btc_overnight_ret,
        cast(cross_asset.btc_ret_5d as double) as btc_ret_5d,
        cast(cross_asset.spy_ret_1d as double) as spy_ret_1d,
        cast(cross_asset.spy_ret_5d as double) as spy_ret_5d,
        cast(cross_asset.qqq_ret_5d as double) as qqq_ret_5d,
        cast(cross_asset.iwm_minus_spy_5d as double) as iwm_minus_spy_5d,
        cast(cross_asset.sector_etf_ret_5d as double) as sector_etf_ret_5d,
        cast(cross_asset.rel_strength_spy_20d as double) as rel_strength_spy_20d,
        cast(cross_asset.beta_spy_60d as double) as beta_spy_60d,
        cast(cross_asset.corr_spy_60d as double) as corr_spy_60d,
        -- events
        cast(events.earnings_surprise_pct as double) as earnings_surprise_pct,
        cast(events.analyst_net_upgrades_30d as integer) as analyst_net_upgrades_30d,
        cast(events.insider_net_buy_90d as double) as insider_net_buy_90d
    from prices
    left join technical
        on prices.ticker = technical.ticker and prices.trade_date = technical.trade_date
    left join volume_flow
        on prices.ticker = volume_flow.ticker and prices.trade_date = volume_flow.trade_date
    left join microstructure
        on prices.ticker = microstructure.ticker and prices.trade_date = microstructure.trade_date
    left join sentiment
        on prices.ticker = sentiment.ticker and prices.trade_date = sentiment.trade_date
    left join cross_asset
        on prices.ticker = cross_asset.ticker and prices.trade_date = cross_asset.trade_date
    left join events
        on prices.ticker = events.ticker and prices.trade_date = events.trade_date
)

select * from final
