-- Daily demand of each item in each warehouse (dense: every day from the pair's first activity) with the
-- stockout flag. On a stockout day the observed quantity is censored (a lower bound of true demand):
-- `is_stockout` marks it and `uncensored_quantity` is null.
-- Defined once in macros/demand_daily_censored.sql (fct_demand_daily restricts it to the recomputed days).
{{ demand_daily_censored() }}
