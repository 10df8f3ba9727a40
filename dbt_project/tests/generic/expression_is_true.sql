{#- Every row satisfies a boolean SQL expression (like dbt_utils.expression_is_true, which cannot be installed
    offline). Rows where the expression is false or null fail, so a test never passes because an operand is null;
    write `x is null or ...` where null is allowed. Narrow the rows checked with the test config `where:`. -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
