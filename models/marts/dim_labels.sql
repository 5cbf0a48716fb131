-- One row per label of fct_labels (fwd_ret_5d, label_up_5d, label_beats_median_5d): its name, its horizon
-- in trading rows (var label_horizon_days, the one place the horizon is set), the longest calendar span a
-- label window may have (var label_max_calendar_days, the gap rule) and a one-sentence definition. Python reads the
-- horizon from here rather than repeating it:
--   select horizon_days from marts.dim_labels where label_name = 'label_up_5d'
-- Portable SQL (a union all of constant selects with casts, no FROM), so other engines (Spark) run it as
-- is; dbt.type_string() is each engine's string type (varchar on DuckDB, string on Spark).
{%- set horizon = label_horizon_days() %}
{%- set max_days = label_max_calendar_days() %}

with labels as (
    select
        cast('fwd_ret_5d' as {{ dbt.type_string() }}) as label_name,
        cast({{ horizon }} as integer) as horizon_days,
        cast({{ max_days }} as integer) as max_calendar_days,
        cast(
            'Forward return close_(t+{{ horizon }}) / close_t - 1 over the next {{ horizon }} trading rows of the '
            || 'ticker (adjusted closes), NULL while row t+{{ horizon }} is not yet in the data or when it is '
            || 'more than {{ max_days }} calendar days after t (a gap in the prices).'
            as {{ dbt.type_string() }}
        ) as definition
    union all
    select
        cast('label_up_5d' as {{ dbt.type_string() }}) as label_name,
        cast({{ horizon }} as integer) as horizon_days,
        cast({{ max_days }} as integer) as max_calendar_days,
        cast(
            '1 if fwd_ret_5d > 0 (the close rose over the next {{ horizon }} trading rows), 0 if not, NULL while '
            || 'row t+{{ horizon }} is not yet in the data or when it is more than {{ max_days }} calendar days '
            || 'after t (a gap in the prices).'
            as {{ dbt.type_string() }}
        ) as definition
    union all
    select
        cast('label_beats_median_5d' as {{ dbt.type_string() }}) as label_name,
        cast({{ horizon }} as integer) as horizon_days,
        cast({{ max_days }} as integer) as max_calendar_days,
        cast(
            '1 if fwd_ret_5d is above the median fwd_ret_5d of the tickers of fct_labels with a known '
            || 'fwd_ret_5d on the same trade_date (universe_median_fwd_ret_5d), 0 if not, NULL when fwd_ret_5d is; '
            || 'final from label_beats_median_known_date (every ticker of the day settled, at most '
            || '{{ max_days + 1 }} calendar days after t).'
            as {{ dbt.type_string() }}
        ) as definition
),

final as (
    select * from labels
)

select * from final
