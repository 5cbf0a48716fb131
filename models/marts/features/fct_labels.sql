-- Forward-return labels, one row per (ticker, trade_date). Labels look into the future by design, so
-- they live here and meet the features only in fct_training_examples, on rows where
-- label_known_date has passed. The horizon h is var label_horizon_days (dbt_project.yml; 5 in v1, which
-- the column names fwd_ret_5d / label_up_5d spell out). NULL while row t+h is not yet in the data, and
-- NULL for good when the window to row t+h spans more than var label_max_calendar_days calendar days (the
-- gap rule, macro forward_window_spans_gap: the ticker's prices have a gap there); such a row still gets
-- label_known_date, the day it became known that it has no label, so it is never recomputed.
-- The cross-sectional label label_beats_median_5d compares fwd_ret_5d with the median fwd_ret_5d of the
-- day's tickers whose fwd_ret_5d is known (universe_median_fwd_ret_5d); label_beats_median_known_date
-- says from when that day's median is final.
-- Incremental, by whole days: see `stale_days`.
-- Built after int_prices__refresh_window (which it does not read), so that its tests, which read the rows
-- this build wrote (macro get_where_subquery), see this build's window:
-- depends_on: {{ ref('int_prices__refresh_window') }}
{%- set horizon = label_horizon_days() %}
{%- set max_days = label_max_calendar_days() %}

with prices as (
    select * from {{ ref('int_prices__sequenced') }}
),

-- The forward return with the gap rule (macro forward_returns): no label over a window that spans a gap in
-- the ticker's prices; label_known_date is row t+h's date either way.
usable as (
    select
        ticker,
        trade_date,
        close,
        close_ahead,
        fwd_ret,
        date_ahead as label_known_date
    from ({{ forward_returns('prices', horizon) }}) as forward
),

-- The rows this build must write, from this mart's own state: every price row not yet here, and every
-- row here whose label was not yet known (label_known_date is NULL: row t+h had not arrived), with every
-- other row of their trade_dates, since a day's median moves with any of its tickers' returns. A daily
-- build so rewrites the new day and the h days before it; a build that stopped before this mart (killed,
-- or `-s +fct_features_v1`) is caught up by the next one, whatever the feature mart already holds.
-- The windows above run over every row, so a recomputed label equals a full build's.
{%- if is_incremental() %}
stale_days as (
    select distinct usable.trade_date
    from usable
    left join {{ this }} as built
        on
            usable.ticker = built.ticker
            and usable.trade_date = built.trade_date
            and built.label_known_date is not null
    where built.ticker is null
),
{%- endif %}

missing as (
    select usable.*
    from usable
    {%- if is_incremental() %}
        inner join stale_days on usable.trade_date = stale_days.trade_date
    {%- endif %}
),

returns as (
    select
        ticker,
        trade_date,
        fwd_ret as fwd_ret_5d,
        case
            when close_ahead is null then null
            when close_ahead > close then 1
            else 0
        end as label_up_5d,
        label_known_date,
        -- When this row's place in the day's median is settled: its label_known_date when it has a return;
        -- otherwise (row t+h not here yet, or beyond the gap limit) the first day on which row t+h could
        -- only void the label by the gap rule, trade_date + label_max_calendar_days + 1.
        case
            when close_ahead is not null then label_known_date
            else cast({{ dbt.dateadd('day', max_days + 1, 'trade_date') }} as date)
        end as settled_date
    from missing
),

-- The day's universe: every ticker of the trade_date with a known fwd_ret_5d (percentile_cont skips
-- NULLs). Its median is final once every row of the day is settled.
universe as (
    select
        trade_date,
        percentile_cont(0.5) within group (order by fwd_ret_5d) as universe_median_fwd_ret_5d,
        max(settled_date) as label_beats_median_known_date
    from returns
    group by trade_date
),

final as (
    select
        returns.ticker,
        returns.trade_date,
        returns.fwd_ret_5d,
        returns.label_up_5d,
        case
            when returns.fwd_ret_5d is null then null
            when returns.fwd_ret_5d > universe.universe_median_fwd_ret_5d then 1
            else 0
        end as label_beats_median_5d,
        cast(universe.universe_median_fwd_ret_5d as double) as universe_median_fwd_ret_5d,
        returns.label_known_date,
        universe.label_beats_median_known_date
    from returns
    inner join universe on returns.trade_date = universe.trade_date
)

select * from final
