-- Volume-flow ("dark pool") scores, 0-100: each is the trailing percentile rank of its raw signal over
-- the ticker's last 252 rows, today included (NULL until 252 values of the signal exist).
with volume_flow_lines as (
    select * from {{ ref('int_features__volume_flow_lines') }}
),

final as (
    select
        ticker,
        trade_date,
        {{ trailing_percentile('ifi_raw') }} as ifi_score,
        {{ trailing_percentile('ad_change_20') }} as ad_score,
        {{ trailing_percentile('obv_change_20') }} as obv_score,
        {{ trailing_percentile('vroc_14') }} as vroc_score,
        {{ trailing_percentile('smi_change_20') }} as smi_score
    from volume_flow_lines
)

select * from final
where {{ refresh_output('final') }}
