-- fct_feature_ranks has exactly the (ticker, trade_date) keys of fct_features_v1: every feature row is
-- ranked. Returns each key found in one mart and not the other (e.g. days a stopped build never ranked).
with features as (
    select * from {{ ref('fct_features', v=1) }}
),

ranks as (
    select * from {{ ref('fct_feature_ranks') }}
),

only_in_features as (
    select
        features.ticker,
        features.trade_date,
        'missing from fct_feature_ranks' as problem
    from features
    left join ranks
        on features.ticker = ranks.ticker and features.trade_date = ranks.trade_date
    where ranks.ticker is null
),

only_in_ranks as (
    select
        ranks.ticker,
        ranks.trade_date,
        'missing from fct_features_v1' as problem
    from ranks
    left join features
        on ranks.ticker = features.ticker and ranks.trade_date = features.trade_date
    where features.ticker is null
),

final as (
    select * from only_in_features
    union all
    select * from only_in_ranks
)

select * from final
