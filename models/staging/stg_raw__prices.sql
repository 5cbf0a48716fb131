-- Daily prices, split/dividend adjusted: factor = adj_close / close (1 when the source has no
-- adjusted close) applied to open, high, low and close; volume divided by the factor, so that
-- price x volume (dollar volume) is unchanged by the adjustment.
with source as (
    select * from {{ source('raw', 'prices') }}
),

factored as (
    select
        ticker,
        trade_date,
        open as open_raw,
        high as high_raw,
        low as low_raw,
        close as close_raw,
        volume as volume_raw,
        adj_close,
        source,
        run_id,
        coalesce({{ safe_divide('adj_close', 'close') }}, 1.0) as adjustment_factor
    from source
),

final as (
    select
        ticker,
        trade_date,
        open_raw * adjustment_factor as open,
        high_raw * adjustment_factor as high,
        low_raw * adjustment_factor as low,
        close_raw * adjustment_factor as close,
        volume_raw / adjustment_factor as volume,
        close_raw * volume_raw as dollar_volume,
        adjustment_factor,
        open_raw,
        high_raw,
        low_raw,
        close_raw,
        volume_raw,
        source,
        run_id
    from factored
)

select * from final
