{#-
    The stock-level features of fct_features v1: the ones that differ between tickers on a day, and so
    can be ranked across the day's tickers (fct_feature_ranks: `<feature>_xs_rank`). The one list the
    rank columns are generated from. Left out on purpose: the market-level cross-asset features
    (vix_*, yield_10y_*, btc_*, spy_ret_*, qqq_ret_5d, iwm_minus_spy_5d), the same value for every ticker
    on a day, whose rank within the day says nothing (every ticker ties). A feature added to the mart is
    added here too when it differs between tickers (docs/features.md).
-#}
{% macro stock_level_features() %}
    {{ return([
        'ret_1d', 'ret_5d', 'ret_20d', 'ret_60d', 'rsi_14', 'macd', 'macd_signal', 'macd_hist',
        'bb_width_20', 'bb_pctb_20', 'atr_14_pct', 'stoch_k_14', 'stoch_d_3', 'williams_r_14', 'roc_10',
        'cci_20', 'adx_14', 'sma_ratio_20_50', 'dist_sma_200', 'volatility_20d',
        'ifi_score', 'ad_score', 'obv_score', 'vroc_score', 'smi_score',
        'clv', 'spread_cs_20', 'spread_roll_20', 'amihud_20', 'parkinson_vol_20', 'garman_klass_vol_20',
        'overnight_gap', 'intraday_ret', 'volume_z_20', 'institutional_activity',
        'sentiment_raw', 'sentiment_ma5', 'sentiment_trend', 'sentiment_z_20', 'sentiment_divergence',
        'news_volume_z_20', 'sentiment_days_since',
        'sector_etf_ret_5d', 'rel_strength_spy_20d', 'beta_spy_60d', 'corr_spy_60d',
        'earnings_surprise_pct', 'analyst_net_upgrades_30d', 'insider_net_buy_90d',
    ]) }}
{% endmacro %}
