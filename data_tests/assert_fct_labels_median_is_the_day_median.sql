-- fct_labels' cross-sectional columns agree with the rows of their day as the mart holds them now: the
-- median of the day's known fwd_ret_5d, the label against it, and the date the day is settled. Returns
-- each row that does not: a stale median, which a build that recomputed a ticker's label but not the
-- rest of its day would leave.
{%- set max_days = label_max_calendar_days() %}

with labels as (
    select * from {{ ref('fct_labels') }}
),

days as (
    select
        trade_date,
        percentile_cont(0.5) within group (order by fwd_ret_5d) as median_fwd_ret_5d,
        max(
            case
                when label_up_5d is not null then label_known_date
                else cast({{ dbt.dateadd('day', max_days + 1, 'trade_date') }} as date)
            end
        ) as settled_date
    from labels
    group by trade_date
),

final as (
    select
        labels.ticker,
        labels.trade_date,
        labels.fwd_ret_5d,
        labels.universe_median_fwd_ret_5d,
        days.median_fwd_ret_5d,
        labels.label_beats_median_5d,
        labels.label_beats_median_known_date,
        days.settled_date
    from labels
    inner join days on labels.trade_date = days.trade_date
    where
        labels.universe_median_fwd_ret_5d is distinct from days.median_fwd_ret_5d
        or labels.label_beats_median_known_date is distinct from days.settled_date
        or labels.label_beats_median_5d is distinct from (
            case
                when labels.fwd_ret_5d > days.median_fwd_ret_5d then 1
                when labels.fwd_ret_5d is not null then 0
            end
        )
)

select * from final
