"""The model-registry promotion gate shared by every model family (demand, ETA).

A candidate model version gets the ``champion`` alias only if, on the *same* backtest, it
beats both the baseline (seasonal naive for demand, the carrier's promise for ETA) and the
current champion. "Beats" compares the primary error (WAPE, MAE, ...) and breaks exact ties
with the mean pinball loss. Whatever the outcome, the decision and its reason are written as
tags on the candidate version and returned.

This module and the ``tracking.py`` modules are the only places that call MLflow; the gate
lives here, once, so that both families use the same rule (:func:`decide_promotion` is the
pure rule, :func:`promote_if_better` applies it to the registry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

__all__ = [
    "CHAMPION_ALIAS",
    "GateScores",
    "PromotionDecision",
    "champion_version",
    "decide_promotion",
    "promote_if_better",
]

CHAMPION_ALIAS = "champion"
TAG_ERROR = "gate.error"
TAG_PINBALL = "gate.pinball"
TAG_BACKTEST = "gate.backtest_id"
TAG_BASELINE_ERROR = "gate.baseline_error"
TAG_DECISION = "promotion.decision"
TAG_REASON = "promotion.reason"


@dataclass(frozen=True)
class GateScores:
    """Scores of one model on one backtest (lower is better for both).

    Attributes:
        error: Primary error (WAPE for demand, MAE in days for ETA).
        pinball: Mean pinball loss over the quantiles; breaks ties on ``error``.
    """

    error: float
    pinball: float


@dataclass(frozen=True)
class PromotionDecision:
    """Outcome of the gate.

    Attributes:
        promoted: Whether the candidate now holds the champion alias.
        reason: Human-readable reason (also tagged on the version).
        candidate_version: The version that was gated.
        previous_champion: The champion version before the decision, if any.
    """

    promoted: bool
    reason: str
    candidate_version: str
    previous_champion: str | None = None


def _beats(a: GateScores, b: GateScores) -> bool:
    if math.isclose(a.error, b.error, rel_tol=1e-9, abs_tol=1e-12):
        return a.pinball < b.pinball and not math.isclose(a.pinball, b.pinball, rel_tol=1e-9, abs_tol=1e-12)
    return a.error < b.error


def decide_promotion(
    candidate: GateScores,
    baseline: GateScores,
    champion: GateScores | None,
    *,
    baseline_name: str = "seasonal_naive",
    metric_name: str = "error",
) -> tuple[bool, str]:
    """The pure gate rule.

    Args:
        candidate: Candidate scores.
        baseline: Baseline scores on the same backtest.
        champion: Current champion's scores on the same backtest, or None if there is none.
        baseline_name: Baseline name used in the reason.
        metric_name: Name of the primary error used in the reason (e.g. ``wape``).

    Returns:
        ``(promote, reason)``.
    """
    if any(math.isnan(v) for v in (candidate.error, candidate.pinball)):
        return False, f"candidate {metric_name} or pinball is NaN"
    if not _beats(candidate, baseline):
        return False, (
            f"does not beat {baseline_name}: {metric_name} {candidate.error:.4f} vs {baseline.error:.4f}, "
            f"pinball {candidate.pinball:.4f} vs {baseline.pinball:.4f}"
        )
    if champion is None:
        return (
            True,
            f"no champion yet; beats {baseline_name} ({metric_name} {candidate.error:.4f} < {baseline.error:.4f})",
        )
    if not _beats(candidate, champion):
        return False, (
            f"does not beat the champion: {metric_name} {candidate.error:.4f} vs {champion.error:.4f}, "
            f"pinball {candidate.pinball:.4f} vs {champion.pinball:.4f}"
        )
    return True, (
        f"beats champion ({metric_name} {candidate.error:.4f} < {champion.error:.4f}) "
        f"and {baseline_name} ({baseline.error:.4f})"
    )


def champion_version(
    model_name: str, *, alias: str = CHAMPION_ALIAS, client: MlflowClient | None = None
) -> str | None:
    """Version currently holding ``alias``.

    Args:
        model_name: Registered model name.
        alias: Alias to resolve.
        client: MLflow client; defaults to one on the current tracking/registry URI.

    Returns:
        The version string, or None if the model or alias does not exist.
    """
    client = client or MlflowClient()
    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def promote_if_better(
    model_name: str,
    candidate_version: str,
    *,
    candidate: GateScores,
    baseline: GateScores,
    backtest_id: str,
    champion: GateScores | None = None,
    baseline_name: str = "seasonal_naive",
    metric_name: str = "error",
    alias: str = CHAMPION_ALIAS,
    client: MlflowClient | None = None,
) -> PromotionDecision:
    """Give ``candidate_version`` the champion alias if it passes the gate.

    The candidate's scores and backtest id are tagged on its version first, so it can serve
    as the reference for later candidates scored on the same backtest. The champion's scores
    come from ``champion`` when given (it was re-scored on this backtest); otherwise from the
    champion version's tags, but only when they were computed on the same ``backtest_id`` —
    scores from different data or folds are not comparable, and the candidate then stays a
    candidate with that reason.

    Args:
        model_name: Registered model name.
        candidate_version: Version to gate.
        candidate: Candidate scores on the backtest.
        baseline: Baseline scores on the same backtest.
        backtest_id: Fingerprint of the backtest (data, folds, horizon).
        champion: Champion's scores on the same backtest, if re-scored by the caller.
        baseline_name: Baseline name for the reason text.
        metric_name: Primary error name for the reason text.
        alias: Alias to move on promotion.
        client: MLflow client; defaults to one on the current tracking/registry URI.

    Returns:
        The :class:`PromotionDecision` (also recorded as ``promotion.*`` tags on the version).
    """
    client = client or MlflowClient()
    version = str(candidate_version)
    for key, value in (
        (TAG_ERROR, candidate.error),
        (TAG_PINBALL, candidate.pinball),
        (TAG_BASELINE_ERROR, baseline.error),
        (TAG_BACKTEST, backtest_id),
    ):
        client.set_model_version_tag(model_name, version, key, str(value))

    current = champion_version(model_name, alias=alias, client=client)
    if current == version:
        reason = f"v{version} already holds {alias}"
        client.set_model_version_tag(model_name, version, TAG_REASON, reason)
        return PromotionDecision(True, reason, version, current)

    champion_scores = champion
    missing_reason = None
    if current is not None and champion_scores is None:
        tags = client.get_model_version(model_name, current).tags
        if tags.get(TAG_BACKTEST) == backtest_id and TAG_ERROR in tags and TAG_PINBALL in tags:
            champion_scores = GateScores(float(tags[TAG_ERROR]), float(tags[TAG_PINBALL]))
        else:
            missing_reason = f"champion v{current} has no scores on backtest {backtest_id}; re-score it on the same backtest"

    if missing_reason is not None:
        promote, reason = False, missing_reason
    else:
        promote, reason = decide_promotion(
            candidate, baseline, champion_scores, baseline_name=baseline_name, metric_name=metric_name
        )
    if promote:
        client.set_registered_model_alias(model_name, alias, version)
    client.set_model_version_tag(model_name, version, TAG_DECISION, alias if promote else "candidate")
    client.set_model_version_tag(model_name, version, TAG_REASON, reason)
    return PromotionDecision(promote, reason, version, current)
