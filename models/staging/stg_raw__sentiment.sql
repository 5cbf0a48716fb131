with source as (
    select * from {{ source('raw', 'sentiment') }}
),

final as (
    select
        ticker,
        trade_date,
        sentiment_score,
        cast(article_count as integer) as article_count,
        source,
        run_id
    from source
)

select * from final
