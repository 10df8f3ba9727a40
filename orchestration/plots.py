"""Small matplotlib plots embedded in asset metadata (a markdown image with a base64 PNG)."""

import base64
import io
from typing import Any

__all__ = ["figure_markdown", "line_plot_markdown"]


def figure_markdown(figure: Any, alt: str = "plot") -> str:
    """Render a matplotlib figure as a markdown image (the UI shows it inline) and close it.

    Args:
        figure: A matplotlib ``Figure``.
        alt: Alt text.

    Returns:
        ``![alt](data:image/png;base64,...)``.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"![{alt}](data:image/png;base64,{encoded})"


def line_plot_markdown(frame: Any, x: str, ys: list[str], title: str, ylabel: str = "") -> str:
    """A line plot of ``ys`` against ``x`` as a markdown image.

    Args:
        frame: pandas DataFrame.
        x: Column on the x axis.
        ys: Columns to draw.
        title: Plot title.
        ylabel: Y axis label.

    Returns:
        Markdown image.
    """
    import matplotlib

    matplotlib.use("Agg")  # headless: runs execute in daemons and tests without a display
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3))
    for y in ys:
        axis.plot(frame[x], frame[y], label=y)
    axis.set_title(title)
    axis.set_ylabel(ylabel)
    if len(ys) > 1:
        axis.legend()
    figure.autofmt_xdate()
    return figure_markdown(figure, title)
