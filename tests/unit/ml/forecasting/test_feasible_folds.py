import datetime as dt

import polars as pl
import pytest

from ml.forecasting.config import ForecastConfig
from ml.forecasting.pipeline import feasible_folds
from stockyard.errors import ValidationError


def _days(n: int) -> pl.DataFrame:
    start = dt.date(2024, 1, 1)
    return pl.DataFrame({"date": [start + dt.timedelta(days=i) for i in range(n)]})


def test_short_history_gets_fewer_folds_long_history_all() -> None:
    config = ForecastConfig()  # min_history 28, horizon 28
    assert feasible_folds(_days(60), config, 3) == 1
    assert feasible_folds(_days(28 + 2 * 28), config, 3) == 2
    assert feasible_folds(_days(730), config, 3) == 3


def test_history_too_short_for_one_fold_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="cannot hold one backtest fold"):
        feasible_folds(_days(40), ForecastConfig(), 3)
    with pytest.raises(ValidationError, match="empty"):
        feasible_folds(_days(0).with_columns(pl.col("date").cast(pl.Date)), ForecastConfig(), 3)
