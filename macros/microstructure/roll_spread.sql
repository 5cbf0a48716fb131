{#-
    Roll (1984) effective spread from the first-order serial covariance of returns:
    2 * sqrt(-covariance), NULL where the covariance is >= 0 (the model has no spread to infer there).
    Pass the covariance already computed over its window (e.g. covar_samp(ret_1d, prev_ret_1d) over 20
    rows); with returns (not price changes) the spread is a fraction of the price.
-#}
{% macro roll_spread(return_covariance) %}
    {%- if return_covariance is not string or return_covariance | trim == '' -%}
        {{ exceptions.raise_compiler_error(
            "roll_spread needs `return_covariance`: a SQL expression string, the windowed covariance of "
            ~ "r_t and r_{t-1}, got " ~ return_covariance
        ) }}
    {%- endif -%}
    case when ({{ return_covariance }}) < 0 then 2 * sqrt(-({{ return_covariance }})) end
{%- endmacro %}
