"""Rich progress for ``stockyard run``: one bar over the selected assets, one line per notable event."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from orchestration.runner import RunEvent

__all__ = ["RunProgress"]


class RunProgress:
    """A :class:`~orchestration.runner.RunEvent` callback that renders to a rich console.

    Args:
        console: Where to render (stderr in the CLI).
        total: Number of assets selected.
    """

    def __init__(self, console: Console, total: int) -> None:
        self._console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("materialising", total=total)
        self._done: set[str] = set()

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def __call__(self, event: RunEvent) -> None:
        """Render one event."""
        if event.kind == "start":
            self._progress.update(self._task, description=f"running {event.name}")
        elif event.kind == "materialized" and event.name not in self._done:
            self._done.add(event.name)
            self._progress.advance(self._task)
            self._progress.console.print(f"  [green]✓[/] {event.name}")
        elif event.kind == "check_failed":
            self._progress.console.print(f"  [yellow]✗ check[/] {event.name}: {event.detail}")
        elif event.kind == "step_failed":
            first_line = event.detail.splitlines()[0] if event.detail else ""
            self._progress.console.print(f"  [bold red]✗ step[/] {event.name}: {first_line}")
