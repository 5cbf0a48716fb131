-- Per-day normalised stock-level features: each feature of macro stock_level_features() ranked among the
-- day's tickers of fct_features v1 (percent_rank within trade_date over the non-NULL values, 0..1, NULL
-- stays NULL; macro cross_sectional_rank), named <feature>_xs_rank. Point in time: a rank at trade_date t
-- uses only the features of t, every one known at the close of t. Market-level features (the same for
-- every ticker on a day) have no rank: see stock_level_features.
-- Incremental, by whole days: a day's ranks depend on every ticker of the day, so a build recomputes
-- every row of each trade_date that has a feature row not yet here (the new day on a daily build; any day
-- a stopped build or a newly added ticker left behind). Feature rows never change on a daily build, so a
-- day whose keys are all here is final.
with features as (
    select * from {{ ref('fct_features', v=1) }}
),

{%- if is_incremental() %}

-- The days this build must rank, from this mart's own state.
unranked_days as (
    select distinct features.trade_date
    from features
    left join {{ this }} as ranked
        on features.ticker = ranked.ticker and features.trade_date = ranked.trade_date
    where ranked.ticker is null
),
{%- endif %}

day_rows as (
    select features.*
    from features
    {%- if is_incremental() %}
        inner join unranked_days on features.trade_date = unranked_days.trade_date
    {%- endif %}
),

final as (
    select
        ticker,
        trade_date,
        {%- for feature in stock_level_features() %}
            {{ cross_sectional_rank(feature) }} as {{ feature }}_xs_rank{% if not loop.last %},{% endif %}
        {%- endfor %}
    from day_rows
)

select * from final
