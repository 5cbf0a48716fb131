-- fct_training_examples holds fct_labels' current labels: the cross-sectional label_beats_median_5d of a
-- row can move after the row was written (another ticker of its day became known later), and the
-- examples must follow. Returns each example whose label columns differ from fct_labels'.
with labels as (
    select * from {{ ref('fct_labels') }}
),

examples as (
    select * from {{ ref('fct_training_examples') }}
),

final as (
    select
        examples.ticker,
        examples.trade_date,
        examples.label_beats_median_5d as example_beats_median,
        labels.label_beats_median_5d as label_beats_median,
        examples.label_beats_median_known_date as example_known_date,
        labels.label_beats_median_known_date as label_known_date
    from examples
    inner join labels
        on examples.ticker = labels.ticker and examples.trade_date = labels.trade_date
    where
        examples.fwd_ret_5d is distinct from labels.fwd_ret_5d
        or examples.label_up_5d is distinct from labels.label_up_5d
        or examples.label_known_date is distinct from labels.label_known_date
        or examples.label_beats_median_5d is distinct from labels.label_beats_median_5d
        or examples.label_beats_median_known_date is distinct from labels.label_beats_median_known_date
)

select * from final
