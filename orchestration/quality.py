"""Great Expectations suites as Dagster asset checks.

A :class:`Suite` names an asset, the columns to read, the rows' identifying columns and a list of GX 1.x
expectations; :func:`gx_asset_check` turns it into a ``@dg.asset_check`` that loads the data (a callable given
the settings), validates it in an ephemeral GX context, and reports one ``AssetCheckResult`` whose metadata holds
each expectation's outcome and, for failures, a markdown sample of the failing rows. Suites on bronze and on
features are ``blocking``: when they fail, Dagster does not run the downstream assets (a mart is not built on bad
bronze, a model not trained on bad features).

Expectations are built lazily (``expectations`` is a callable) because importing GX costs seconds; loading the
definitions stays fast and only a run that executes the check pays for it.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dagster as dg

from orchestration.resources import StockyardResource
from stockyard.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Suite", "ValidationOutcome", "gx_asset_check", "markdown_table", "validate_frame"]

SAMPLE_ROWS = 10


@dataclass(frozen=True)
class Suite:
    """A GX expectation suite bound to one asset.

    Attributes:
        name: Check name (shown in the UI), e.g. ``gx_order_lines``.
        asset: The asset validated.
        load: Reads the data to validate (a pandas DataFrame) given the settings.
        expectations: Builds the GX expectations (called at check time).
        id_columns: Columns identifying a row, reported for failing rows.
        blocking: Whether a failure stops downstream assets.
        description: One line for the UI.
    """

    name: str
    asset: dg.AssetKey
    load: Callable[[Settings], "pd.DataFrame"]
    expectations: Callable[[], Sequence[Any]]
    id_columns: Sequence[str] = ("id",)
    blocking: bool = True
    description: str = ""
    additional_deps: Sequence[dg.AssetKey] = field(default_factory=tuple)


@dataclass
class ValidationOutcome:
    """What one suite run found.

    Attributes:
        success: Every expectation passed.
        rows: Rows validated.
        results: Per expectation: type, kwargs, success, unexpected count, observed value.
        failing_rows: Markdown table of a sample of failing rows (empty when all passed).
    """

    success: bool
    rows: int
    results: list[dict[str, Any]]
    failing_rows: str


def markdown_table(frame: "pd.DataFrame", limit: int = SAMPLE_ROWS) -> str:
    """Render the first ``limit`` rows of a frame as a markdown table (for asset metadata).

    Args:
        frame: Any DataFrame.
        limit: Rows to show.

    Returns:
        A GitHub-flavoured markdown table.
    """
    head = frame.head(limit)
    columns = [str(c) for c in head.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in head.itertuples(index=False):
        lines.append("| " + " | ".join("" if _isnull(v) else str(v) for v in row) + " |")
    return "\n".join(lines)


def _isnull(value: Any) -> bool:
    try:
        return bool(value != value) or value is None  # NaN/NaT compare unequal to themselves
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    """JSON-friendly version of a GX result value (numpy scalars, timestamps)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def validate_frame(
    frame: "pd.DataFrame",
    expectations: Sequence[Any],
    *,
    id_columns: Sequence[str] = ("id",),
    name: str = "suite",
) -> ValidationOutcome:
    """Validate a DataFrame against GX expectations in an ephemeral context.

    Args:
        frame: The data.
        expectations: GX 1.x expectation objects (``gx.expectations.Expect...``).
        id_columns: Columns identifying a row; failing rows are reported by them.
        name: Suite name.

    Returns:
        The :class:`ValidationOutcome`.
    """
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = (
        context.data_sources.add_pandas(name)
        .add_dataframe_asset(name=name)
        .add_batch_definition_whole_dataframe(name)
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name=name, expectations=list(expectations))
    ids = [c for c in id_columns if c in frame.columns]
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_ROWS}
    if ids:
        result_format["unexpected_index_column_names"] = ids
    validation = batch.validate(suite, result_format=result_format)
    results: list[dict[str, Any]] = []
    failing: list[pd.DataFrame] = []
    for item in validation.results:
        config = item.expectation_config
        kwargs = {k: _plain(v) for k, v in config.kwargs.items() if k != "batch_id"}
        summary = item.result or {}
        results.append(
            {
                "expectation": config.type,
                "kwargs": kwargs,
                "success": bool(item.success),
                "unexpected_count": _plain(summary.get("unexpected_count")),
                "observed_value": _plain(summary.get("observed_value")),
            }
        )
        if item.success or not ids:
            continue
        index_rows = summary.get("partial_unexpected_index_list") or []
        keys = pd.DataFrame([{c: row.get(c) for c in ids} for row in index_rows])
        if keys.empty:
            continue
        sample = frame.merge(keys.drop_duplicates(), on=ids, how="inner").head(SAMPLE_ROWS)
        sample.insert(
            0, "failed_expectation", f"{config.type}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
        )
        failing.append(sample)
    failing_rows = ""
    if failing:
        failing_rows = markdown_table(pd.concat(failing, ignore_index=True), limit=SAMPLE_ROWS * 3)
    return ValidationOutcome(
        success=bool(validation.success), rows=len(frame), results=results, failing_rows=failing_rows
    )


def gx_asset_check(suite: Suite) -> dg.AssetChecksDefinition:
    """Build the Dagster asset check running ``suite``.

    Args:
        suite: The suite.

    Returns:
        An asset check (blocking when ``suite.blocking``) reporting each expectation and failing rows.
    """

    @dg.asset_check(
        asset=suite.asset,
        name=suite.name,
        blocking=suite.blocking,
        description=suite.description or f"Great Expectations suite {suite.name}",
        additional_deps=list(suite.additional_deps),
    )
    def _check(stockyard: StockyardResource) -> dg.AssetCheckResult:
        frame = suite.load(stockyard.settings())
        outcome = validate_frame(frame, suite.expectations(), id_columns=suite.id_columns, name=suite.name)
        failed = [r for r in outcome.results if not r["success"]]
        metadata: dict[str, Any] = {
            "rows": dg.MetadataValue.int(outcome.rows),
            "expectations": dg.MetadataValue.int(len(outcome.results)),
            "failed_expectations": dg.MetadataValue.int(len(failed)),
            "results": dg.MetadataValue.json(outcome.results),
        }
        if outcome.failing_rows:
            metadata["failing_rows_sample"] = dg.MetadataValue.md(outcome.failing_rows)
        description = (
            f"{len(outcome.results)} expectations passed on {outcome.rows} rows"
            if outcome.success
            else "failed: "
            + "; ".join(
                f"{r['expectation']}({', '.join(f'{k}={v}' for k, v in r['kwargs'].items())})"
                + (f" unexpected={r['unexpected_count']}" if r["unexpected_count"] is not None else "")
                for r in failed
            )
        )
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
            description=description,
        )

    return _check
