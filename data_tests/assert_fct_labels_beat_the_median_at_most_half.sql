-- Beating a median: on every trade_date at most half the tickers with a known label have
-- label_beats_median_5d = 1 (strictly above the median). Returns each day that breaks it.
with labels as (
    select * from {{ ref('fct_labels') }}
),

days as (
    select
        trade_date,
        count(label_beats_median_5d) as known_labels,
        sum(label_beats_median_5d) as beats
    from labels
    group by trade_date
),

final as (
    select
        trade_date,
        known_labels,
        beats
    from days
    where 2 * beats > known_labels
)

select * from final
