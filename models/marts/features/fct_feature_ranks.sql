-- Per-day normalised stock-level features: each feature of macro stock_level_features() ranked among the
-- day's tickers of fct_features v1, named <feature>_xs_rank: percent_rank() = (rank - 1) / (n - 1) within
-- the trade_date over the feature's non-NULL values (0 the day's lowest, 1 its highest; ties share the
-- lower rank; one value gives 0), NULL where the feature is NULL. Point in time: a rank at trade_date t
-- uses only the features of t, every one known at the close of t. Market-level features (the same for
-- every ticker on a day) have no rank: see stock_level_features.
-- Long, then wide: the features are unpivoted to one row per (ticker, trade_date, feature), ranked by one
-- window, and pivoted back. 49 window functions side by side in one select (one sort each) took five
-- times longer on DuckDB (51 s against 11 s for 480,000 rows x 49 features on 2 cores).
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

-- One row per non-NULL value: feature_id is the feature's position in stock_level_features() (an integer
-- compares faster than its name in the pivot below). A NULL has no row, so it takes no rank.
feature_values as (
    {%- for feature in stock_level_features() %}
        select
            ticker,
            trade_date,
            {{ loop.index }} as feature_id,
            cast({{ feature }} as double) as feature_value
        from day_rows
        where {{ feature }} is not null
        {{ 'union all' if not loop.last }}
    {%- endfor %}
),

ranked_values as (
    select
        ticker,
        trade_date,
        feature_id,
        percent_rank() over (partition by trade_date, feature_id order by feature_value) as xs_rank
    from feature_values
),

ranks_by_key as (
    select
        ticker,
        trade_date,
        {%- for feature in stock_level_features() %}
            max(case when feature_id = {{ loop.index }} then xs_rank end) as {{ feature }}_xs_rank
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from ranked_values
    group by ticker, trade_date
),

-- Every key of the day, also one whose features are all NULL (its ranks are all NULL).
final as (
    select
        day_rows.ticker,
        day_rows.trade_date,
        {%- for feature in stock_level_features() %}
            ranks_by_key.{{ feature }}_xs_rank{% if not loop.last %},{% endif %}
        {%- endfor %}
    from day_rows
    left join ranks_by_key
        on day_rows.ticker = ranks_by_key.ticker and day_rows.trade_date = ranks_by_key.trade_date
)

select * from final
