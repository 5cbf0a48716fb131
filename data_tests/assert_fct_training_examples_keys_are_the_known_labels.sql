-- fct_training_examples has exactly the keys of fct_labels whose label is known (label_up_5d not NULL).
-- Returns each key found on one side and not the other (e.g. examples a stopped build never wrote).
with labels as (
    select * from {{ ref('fct_labels') }}
),

examples as (
    select * from {{ ref('fct_training_examples') }}
),

known_keys as (
    select
        ticker,
        trade_date
    from labels
    where label_up_5d is not null
),

example_keys as (
    select
        ticker,
        trade_date
    from examples
),

only_in_labels as (
    select
        known_keys.ticker,
        known_keys.trade_date,
        'known label missing from fct_training_examples' as problem
    from known_keys
    left join example_keys
        on known_keys.ticker = example_keys.ticker and known_keys.trade_date = example_keys.trade_date
    where example_keys.ticker is null
),

only_in_examples as (
    select
        example_keys.ticker,
        example_keys.trade_date,
        'example without a known label in fct_labels' as problem
    from example_keys
    left join known_keys
        on example_keys.ticker = known_keys.ticker and example_keys.trade_date = known_keys.trade_date
    where known_keys.ticker is null
),

final as (
    select * from only_in_labels
    union all
    select * from only_in_examples
)

select * from final
