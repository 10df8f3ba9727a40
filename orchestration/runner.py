"""Materialise (part of) the asset graph in-process: what ``stockyard run`` does.

The run goes through a persistent Dagster instance on the home's storage, so it shows up in ``stockyard ui`` like
any run launched there, with the same resources as the code location. Progress is reported per asset through a
callback fed by a thread that tails the run's event log; the outcome names every failed step, every failed check
(and whether it blocked downstream assets) and every selected asset left unmaterialised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from stockyard.errors import ValidationError
from stockyard.settings import Settings, get_settings

if TYPE_CHECKING:
    import dagster as dg

__all__ = ["CheckFailure", "RunEvent", "RunReport", "prepare", "resolve_selection", "run_graph"]

EventKind = Literal["start", "materialized", "check_passed", "check_failed", "step_failed"]


@dataclass(frozen=True)
class RunEvent:
    """One progress event of a run.

    Attributes:
        kind: What happened.
        name: The asset key (``layer/name``), the check (``layer/name:check``) or the failed step.
        detail: A short human description (error message, check description).
    """

    kind: EventKind
    name: str
    detail: str = ""


@dataclass(frozen=True)
class CheckFailure:
    """A failed asset check: which asset, which check, and whether it stops downstream assets."""

    asset: str
    check: str
    blocking: bool
    severity: str
    description: str


@dataclass
class RunReport:
    """Outcome of :func:`run_graph`.

    Attributes:
        run_id: The Dagster run id (visible in the UI).
        success: True when no step failed and no blocking check failed.
        selected: Asset keys the run was asked to materialise.
        materialized: Asset keys materialised by the run.
        failed_steps: Step key -> error message for every failed step.
        failed_checks: Every failed check.
    """

    run_id: str
    success: bool
    selected: list[str] = field(default_factory=list)
    materialized: list[str] = field(default_factory=list)
    failed_steps: dict[str, str] = field(default_factory=dict)
    failed_checks: list[CheckFailure] = field(default_factory=list)

    @property
    def not_materialized(self) -> list[str]:
        """Selected assets the run did not materialise (failed, or skipped behind a failure)."""
        done = set(self.materialized)
        return [key for key in self.selected if key not in done]

    def summary(self) -> str:
        """One paragraph naming what failed, for the CLI and logs."""
        if self.success:
            return f"run {self.run_id}: {len(self.materialized)} asset(s) materialised"
        lines = [f"run {self.run_id} failed"]
        for step, message in self.failed_steps.items():
            lines.append(f"  step {step}: {message}")
        for check in self.failed_checks:
            kind = "blocking check" if check.blocking else "check"
            lines.append(f"  {kind} {check.asset}:{check.check} ({check.severity}): {check.description}")
        if self.not_materialized:
            lines.append(f"  not materialised: {', '.join(self.not_materialized)}")
        return "\n".join(lines)


def prepare(settings: Settings | None = None) -> None:
    """Make the code location loadable: write Dagster's instance config and the dbt manifest.

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.
    """
    from orchestration.dbt_project import prepare_manifest
    from orchestration.instance import write_dagster_yaml

    settings = settings or get_settings()
    write_dagster_yaml(settings)
    prepare_manifest(settings)


def _root_cause(error: Any) -> str:
    """The innermost message of a serialised error (Dagster wraps user errors in execution errors)."""
    if error is None:
        return "failed"
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()


def _key(asset_key: dg.AssetKey) -> str:
    return asset_key.to_user_string()


def resolve_selection(defs: dg.Definitions, select: str | None) -> list[dg.AssetKey]:
    """The materialisable asset keys a selection string names.

    Args:
        defs: The definitions to select from.
        select: Dagster asset-selection syntax (``key:bronze/orders+``, ``group:orders``, ``bronze/orders*``,
            several clauses joined by `` or ``); None or ``*`` selects the whole unpartitioned graph (the daily
            repair assets run only when selected, e.g. ``group:bronze_repair``).

    Returns:
        The selected asset keys, sorted.

    Raises:
        ValidationError: The selection is malformed or names no asset.
    """
    import dagster as dg
    from dagster._core.errors import DagsterError

    graph = defs.resolve_asset_graph()
    materializable = set(graph.materializable_asset_keys)
    if not select or select.strip() == "*":
        # Partitioned assets re-do days the unpartitioned graph already brings up to date (see
        # orchestration.defs.ingest.backfill): the whole graph is what the nightly job runs, without them.
        return sorted(k for k in materializable if graph.get(k).partitions_def is None)
    try:
        keys = dg.AssetSelection.from_string(select).resolve(graph)
    except (DagsterError, ValueError) as exc:
        raise ValidationError(f"invalid selection {select!r}: {exc}", field="select", value=select) from None
    keys = sorted(set(keys) & materializable)
    if not keys:
        raise ValidationError(f"selection {select!r} matches no asset", field="select", value=select)
    return keys


def _partition_tags(
    defs: dg.Definitions, keys: list[dg.AssetKey], partitions: tuple[str, str] | None = None
) -> dict[str, str]:
    """Run tags of a single-run backfill over ``partitions`` (default: every partition) of the selected assets."""
    graph = defs.resolve_asset_graph()
    defs_found = {graph.get(key).partitions_def for key in keys} - {None}
    if not defs_found:
        if partitions is not None:
            raise ValidationError("partitions given but no selected asset is partitioned", field="partitions")
        return {}
    if len(defs_found) > 1:
        raise ValidationError("the selection mixes partitioning schemes; select one of them", field="select")
    (partitions_def,) = defs_found
    partition_keys = partitions_def.get_partition_keys()
    if not partition_keys:
        raise ValidationError("the selected assets have no partition yet", field="partitions")
    first, last = partitions or (partition_keys[0], partition_keys[-1])
    for value in (first, last):
        if value not in partition_keys:
            raise ValidationError(
                f"unknown partition {value!r} (partitions run from {partition_keys[0]} to {partition_keys[-1]})",
                field="partitions",
                value=value,
            )
    if partition_keys.index(first) > partition_keys.index(last):
        raise ValidationError(f"partition range {first}..{last} is reversed", field="partitions")
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def _tail(
    instance: dg.DagsterInstance, run_id: str, emit: Callable[[RunEvent], None], stop: threading.Event
) -> None:
    """Forward the run's progress events to ``emit`` until ``stop`` is set (then drain once more)."""
    from dagster import DagsterEventType

    wanted = {
        DagsterEventType.STEP_START,
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_CHECK_EVALUATION,
        DagsterEventType.STEP_FAILURE,
    }
    seen = 0
    while True:
        finished = stop.wait(0.5)
        records = instance.all_logs(run_id, of_type=wanted)
        for record in records[seen:]:
            event = record.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                emit(RunEvent("start", event.step_key or ""))
            elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.step_materialization_data.materialization
                emit(RunEvent("materialized", _key(materialization.asset_key)))
            elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.asset_check_evaluation_data
                name = f"{_key(evaluation.asset_key)}:{evaluation.check_name}"
                kind: EventKind = "check_passed" if evaluation.passed else "check_failed"
                emit(RunEvent(kind, name, evaluation.description or ""))
            elif event.event_type == DagsterEventType.STEP_FAILURE:
                emit(
                    RunEvent("step_failed", event.step_key or "", _root_cause(event.step_failure_data.error))
                )
        seen = len(records)
        if finished:
            return


def run_graph(
    select: str | None = None,
    *,
    settings: Settings | None = None,
    on_event: Callable[[RunEvent], None] | None = None,
    defs: dg.Definitions | None = None,
    log_level: str = "WARNING",
    partitions: tuple[str, str] | None = None,
) -> RunReport:
    """Materialise the selected assets (default: the whole graph) with their checks, in this process.

    Args:
        select: Asset-selection string (see :func:`resolve_selection`); None for everything.
        settings: Stockyard settings; defaults to :func:`get_settings`.
        on_event: Called from a helper thread with each :class:`RunEvent` while the run goes.
        defs: Definitions to run (default: ``orchestration.definitions.defs``, loaded after :func:`prepare`).
        log_level: Level of Dagster's console log in this process (the run's event log keeps everything).
        partitions: First and last partition key (inclusive) when the selection is partitioned, e.g.
            ``("2026-03-01", "2026-03-30")``: one run over the range. None: every partition.

    Returns:
        The :class:`RunReport`; ``success`` is False when a step or a blocking check failed.

    Raises:
        ValidationError: The selection is malformed or empty, or ``partitions`` does not fit it.
    """
    from dagster._core.utils import make_new_run_id

    from orchestration.instance import dagster_instance

    settings = settings or get_settings()
    if defs is None:
        prepare(settings)
        from orchestration.definitions import defs as loaded

        defs = loaded
    keys = resolve_selection(defs, select)
    tags = _partition_tags(defs, keys, partitions)
    job = defs.resolve_implicit_global_asset_job_def()
    run_id = make_new_run_id()
    with dagster_instance(settings) as instance:
        stop = threading.Event()
        tail = None
        if on_event is not None:
            tail = threading.Thread(target=_tail, args=(instance, run_id, on_event, stop), daemon=True)
            tail.start()
        try:
            result = job.execute_in_process(
                # Dagster's console logger prints every event at DEBUG; the progress callback is the display.
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
                instance=instance,
                asset_selection=keys,
                run_id=run_id,
                tags=tags,
                raise_on_error=False,
            )
        finally:
            stop.set()
            if tail is not None:
                tail.join()
        report = RunReport(run_id=run_id, success=result.success, selected=[_key(k) for k in keys])
        report.materialized = sorted(
            {_key(e.asset_key) for e in result.get_asset_materialization_events() if e.asset_key}
        )
        for event in result.get_step_failure_events():
            report.failed_steps[event.step_key or "?"] = _root_cause(event.step_failure_data.error)
        graph = defs.resolve_asset_graph()
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.passed:
                continue
            spec = graph.get_check_spec(evaluation.asset_check_key)
            report.failed_checks.append(
                CheckFailure(
                    asset=_key(evaluation.asset_key),
                    check=evaluation.check_name,
                    blocking=bool(evaluation.blocking if evaluation.blocking is not None else spec.blocking),
                    severity=evaluation.severity.value,
                    description=evaluation.description or "",
                )
            )
        # A failed blocking check fails the run (Dagster fails its step too); others are warnings in the report.
        if any(c.blocking and c.severity == "ERROR" for c in report.failed_checks):
            report.success = False
        return report
