-- fct_labels has exactly the (ticker, trade_date) keys of fct_features_v1: one label row per feature row.
-- Returns each key found in one mart and not the other (e.g. labels a stopped build never wrote).
with features as (
    select * from {{ ref('fct_features', v=1) }}
),

labels as (
    select * from {{ ref('fct_labels') }}
),

feature_keys as (
    select
        ticker,
        trade_date
    from features
),

label_keys as (
    select
        ticker,
        trade_date
    from labels
),

only_in_features as (
    select
        feature_keys.ticker,
        feature_keys.trade_date,
        'missing from fct_labels' as problem
    from feature_keys
    left join label_keys
        on feature_keys.ticker = label_keys.ticker and feature_keys.trade_date = label_keys.trade_date
    where label_keys.ticker is null
),

only_in_labels as (
    select
        label_keys.ticker,
        label_keys.trade_date,
        'missing from fct_features_v1' as problem
    from label_keys
    left join feature_keys
        on label_keys.ticker = feature_keys.ticker and label_keys.trade_date = feature_keys.trade_date
    where feature_keys.ticker is null
),

final as (
    select * from only_in_features
    union all
    select * from only_in_labels
)

select * from final
