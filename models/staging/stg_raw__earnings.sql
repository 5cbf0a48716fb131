-- Earnings announcements. `available_date` is the first trading date whose close can know the
-- numbers: the announcement day when it came before the open ('bmo'), otherwise the next day
-- (after the close, or timing unknown: the conservative choice).
with source as (
    select * from {{ source('raw', 'earnings') }}
),

final as (
    select
        ticker,
        announce_date,
        announce_timing,
        case
            when announce_timing = 'bmo' then announce_date
            else cast({{ dbt.dateadd('day', 1, 'announce_date') }} as date)
        end as available_date,
        eps_estimate,
        eps_actual,
        surprise_pct,
        source,
        run_id
    from source
)

select * from final
