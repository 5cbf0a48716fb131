-- Sentiment features (7) on the ticker's price rows. An observation dated on a day the ticker did not
-- trade (a weekend, a holiday) counts on the ticker's next row: it is known by then, and dropping it
-- would lose weekend news. A row with several observations takes their mean score and summed articles.
-- Windows count the ticker's price rows and average the observations present in them (a row without
-- one adds nothing); a window is used only once the ticker has that many rows since its first
-- observation, so a source that starts late has a warm-up like any other. No sentiment: all NULL.
with prices as (
    select * from {{ ref('int_prices__sequenced') }} as sequenced
    -- Incremental builds read back only the lookback: 20-row windows; days-since and the warm-up look
    -- further back, and 300 rows covers them in practice.
    where {{ refresh_input('sequenced', 300) }}
),

sentiment as (
    select * from {{ ref('stg_raw__sentiment') }}
),

-- Each observation goes to the first price row of its ticker dated on or after it: in one timeline per
-- ticker, an observation sorts before a price row of the same date, and the earliest price date from
-- there on is its row.
timeline as (
    select
        ticker,
        trade_date as event_date,
        1 as event_rank,
        trade_date as row_date,
        cast(null as double) as sentiment_score,
        cast(null as integer) as article_count
    from prices
    union all
    select
        ticker,
        trade_date as event_date,
        0 as event_rank,
        null as row_date,
        sentiment_score,
        article_count
    from sentiment
),

assigned as (
    select
        ticker,
        event_rank,
        sentiment_score,
        article_count,
        min(row_date) over (
            partition by ticker order by event_date, event_rank
            rows between current row and unbounded following
        ) as trade_date
    from timeline
),

observations as (
    select
        ticker,
        trade_date,
        avg(sentiment_score) as sentiment_raw,
        sum(article_count) as article_count
    from assigned
    where event_rank = 0 and trade_date is not null
    group by ticker, trade_date
),

rows_with_sentiment as (
    select
        prices.ticker,
        prices.trade_date,
        prices.ticker_row,
        prices.close,
        observations.sentiment_raw,
        observations.article_count,
        case when observations.sentiment_raw is not null then prices.ticker_row end as observed_row
    from prices
    left join observations
        on
            prices.ticker = observations.ticker
            and prices.trade_date = observations.trade_date
),

windows as (
    select
        ticker,
        trade_date,
        ticker_row,
        close,
        sentiment_raw,
        article_count,
        min(observed_row) over to_date as first_observed_row,
        max(observed_row) over to_date as last_observed_row,
        lag(close, 5) over (partition by ticker order by trade_date) as close_lag_5,
        avg(sentiment_raw) over last_5 as sentiment_mean_5,
        avg(sentiment_raw) over last_20 as sentiment_mean_20,
        {{ trailing_zscore('sentiment_raw', 20) }} as sentiment_zscore_previous_20,
        {{ trailing_zscore('article_count', 20) }} as articles_zscore_previous_20
    from rows_with_sentiment
    window
        to_date as (partition by ticker order by trade_date rows between unbounded preceding and current row),
        last_5 as (partition by ticker order by trade_date rows between 4 preceding and current row),
        last_20 as (partition by ticker order by trade_date rows between 19 preceding and current row)
),

-- sentiment_rows: the ticker's rows since its first observation, that one included (NULL before it).
with_history as (
    select
        *,
        ticker_row - first_observed_row + 1 as sentiment_rows,
        {{ safe_divide('close', 'close_lag_5') }} - 1 as ret_5d
    from windows
),

averaged as (
    select
        ticker,
        trade_date,
        ticker_row,
        sentiment_raw,
        last_observed_row,
        ret_5d,
        case when sentiment_rows >= 5 then sentiment_mean_5 end as sentiment_ma5,
        case when sentiment_rows >= 20 then sentiment_mean_5 - sentiment_mean_20 end as sentiment_trend,
        -- The z-scores compare with the previous 20 rows: all of them must lie in the sentiment history.
        case when sentiment_rows >= 21 then sentiment_zscore_previous_20 end as sentiment_z_20,
        case when sentiment_rows >= 21 then articles_zscore_previous_20 end as news_volume_z_20
    from with_history
),

final as (
    select
        ticker,
        trade_date,
        sentiment_raw,
        sentiment_ma5,
        sentiment_trend,
        sentiment_z_20,
        case
            when sentiment_trend is null or ret_5d is null then null
            when sign(sentiment_trend) <> sign(ret_5d) then 1
            else 0
        end as sentiment_divergence,
        news_volume_z_20,
        ticker_row - last_observed_row as sentiment_days_since
    from averaged
)

select * from final
where {{ refresh_output('final') }}
