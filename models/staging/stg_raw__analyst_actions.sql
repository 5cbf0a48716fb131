with source as (
    select * from {{ source('raw', 'analyst_actions') }}
),

final as (
    select
        ticker,
        action_date,
        firm,
        action,
        from_grade,
        to_grade,
        case action when 'upgrade' then 1 when 'downgrade' then -1 else 0 end as rating_direction,
        source,
        run_id
    from source
)

select * from final
