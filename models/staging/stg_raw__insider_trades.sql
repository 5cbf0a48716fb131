-- Insider transactions. Features count them from `announce_date` (the filing), never the trade date.
with source as (
    select * from {{ source('raw', 'insider_trades') }}
),

final as (
    select
        ticker,
        transaction_date,
        announce_date,
        insider,
        position,
        transaction,
        shares,
        value,
        case transaction when 'buy' then value when 'sell' then -value else 0 end as net_value,
        source,
        run_id
    from source
)

select * from final
