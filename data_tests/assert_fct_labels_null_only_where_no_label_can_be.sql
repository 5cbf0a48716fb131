-- A label is NULL exactly where no label can be: the ticker has no row h ahead yet (its last h rows), or
-- the window to it spans a gap in the prices (the gap rule, macro forward_window_spans_gap).
-- Returns the rows that break it: a stale NULL (row t+h is in the data but the label was never
-- recomputed, e.g. after a stopped build), or a label or label_known_date that should not be there.
{%- set horizon = label_horizon_days() %}

with prices as (
    select * from {{ ref('int_prices__sequenced') }}
),

labels as (
    select * from {{ ref('fct_labels') }}
),

ahead as (
    select
        ticker,
        trade_date,
        lead(trade_date, {{ horizon }}) over (partition by ticker order by ticker_row) as date_ahead
    from prices
),

expected as (
    select
        ticker,
        trade_date,
        date_ahead,
        coalesce(not {{ forward_window_spans_gap('trade_date', 'date_ahead', horizon) }}, false) as label_expected
    from ahead
),

final as (
    select
        labels.ticker,
        labels.trade_date,
        labels.label_up_5d,
        labels.label_known_date,
        expected.date_ahead
    from labels
    inner join expected
        on labels.ticker = expected.ticker and labels.trade_date = expected.trade_date
    where
        (labels.label_up_5d is not null) != expected.label_expected
        or labels.label_known_date is distinct from expected.date_ahead
)

select * from final
