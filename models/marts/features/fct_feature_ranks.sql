-- Per-day normalised stock-level features: each feature of macro stock_level_features() ranked among the
-- day's tickers of fct_features v1, named <feature>_xs_rank: percent_rank() = (rank - 1) / (n - 1) within
-- the trade_date over the feature's non-NULL values (macro cross_sectional_rank: 0 the day's lowest, 1 its
-- highest; ties share the lower rank; one value gives 0), NULL where the feature is NULL. Point in time: a
-- rank at trade_date t uses only the features of t, every one known at the close of t. Market-level
-- features (the same for every ticker on a day) have no rank: see stock_level_features.
-- Five windows per CTE, the CTEs joined on the key: DuckDB slows down more than linearly with the number
-- of window functions in one select (49 side by side: 51 s for 480,000 rows on 2 cores; in groups of five:
-- 10 s), and ranking all features at once in long form (unpivot, one window, pivot back) took a 10.5 GB
-- peak on the 379-ticker real set.
-- Incremental, by whole days: a day's ranks depend on every ticker of the day, so a build recomputes
-- every row of each trade_date that has a feature row not yet here (the new day on a daily build; any day
-- a stopped build or a newly added ticker left behind). Feature rows never change on a daily build, so a
-- day whose keys are all here is final.
{%- set groups = stock_level_features() | batch(5) | list %}

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

-- One CTE per group of five features, written by a loop; sqlfluff cannot lay out CTEs a loop generates.
-- noqa: disable=LT02
{%- for group in groups %}

ranks_{{ loop.index }} as (
    select
        ticker,
        trade_date,
        {%- for feature in group %}
            {{ cross_sectional_rank(feature) }} as {{ feature }}_xs_rank{% if not loop.last %},{% endif %}
        {%- endfor %}
    from day_rows
),
{%- endfor %}

final as (
    select
        day_rows.ticker,
        day_rows.trade_date,
        {%- for group in groups %}
            {%- set outer = loop %}
            {%- for feature in group %}
                ranks_{{ outer.index }}.{{ feature }}_xs_rank{% if not (outer.last and loop.last) %},{% endif %}
            {%- endfor %}
        {%- endfor %}
    from day_rows
    {%- for group in groups %}
        inner join ranks_{{ loop.index }}
            on
                day_rows.ticker = ranks_{{ loop.index }}.ticker
                and day_rows.trade_date = ranks_{{ loop.index }}.trade_date
    {%- endfor %}
)
-- noqa: enable=LT02

select * from final
