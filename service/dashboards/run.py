"""The run dashboard: one run, hook point by hook point, with its detector's thresholds."""

from __future__ import annotations

from service.dashboards import RUN_UID
from service.dashboards.grafana import (
    Json,
    Layout,
    Panel,
    Query,
    annotation,
    dashboard,
    query_variable,
    stat,
    state_timeline,
    timeseries,
    trend,
)
from service.metrics import (
    ALERT_FIRING,
    ALERT_PENDING,
    ATTRIBUTION_SHARE,
    DETECTOR_THRESHOLD,
    RUN_CHECKS,
    RUN_INFO,
    RUN_LAST_CHECK,
    RUN_LAST_STEP,
    SCORE,
    SCORE_CUSUM,
    SCORE_ZSCORE,
)

RUN = 'run="$run"'
HOOK = f'{RUN}, hook_point=~"$hook_point"'
DIRECTIONS = f'{HOOK}, feature=~"direction:.*"'
LATENTS = f'{HOOK}, feature=~"latent:.*"'


def _thresholds(signal: str) -> Query:
    """The run's own detector thresholds for ``signal``, drawn as dashed lines."""
    return Query(
        f'{DETECTOR_THRESHOLD}{{{RUN}, signal="{signal}"}}', "{{rule}} {{severity}} threshold"
    )


def _run_stats() -> list[Panel]:
    return [
        stat(
            "Model and probe pack",
            "The model being trained and the probe pack scoring it.",
            Query(f"{RUN_INFO}{{{RUN}}}", "{{model_id}} · {{probe_pack}}"),
            width=4,
            text_mode="name",
        ),
        stat(
            "Training step",
            "Step of the latest check.",
            Query(f"{RUN_LAST_STEP}{{{RUN}}}"),
        ),
        stat("Checks", "Checks stored for this run.", Query(f"{RUN_CHECKS}_total{{{RUN}}}")),
        stat(
            "Since last check",
            "Time since the latest check arrived; the trainer sends one every check_every steps.",
            Query(f"time() - {RUN_LAST_CHECK}{{{RUN}}}"),
            unit="s",
        ),
        stat(
            "Firing alerts",
            "Detector alerts firing now, over all hook points, features and severities.",
            Query(f"sum({ALERT_FIRING}{{{RUN}}})"),
            red_from=1,
        ),
        stat(
            "Training samples above 1 unit",
            "Share of the training samples since the latest check that sat more than one unit "
            "towards the persona (attribution on; `emwatch samples RUN` names them).",
            Query(f"{ATTRIBUTION_SHARE}{{{RUN}}}"),
            unit="percentunit",
        ),
    ]


def _hook_point_panels() -> tuple[list[Panel], list[Panel], list[Panel]]:
    scores = "shift of the canary prompts' activations from the step-0 baseline towards "
    return (
        [
            timeseries(
                "Misalignment direction: z-score",
                f"Projection on each misalignment direction: {scores}misalignment, in z units. "
                "Dashed: this run's warning and critical thresholds.",
                [Query(f"{SCORE_ZSCORE}{{{DIRECTIONS}}}", "{{feature}}"), _thresholds("zscore")],
            ),
            timeseries(
                "Watched persona latents: z-score",
                f"Activation of each watched SAE latent: {scores}misalignment, in z units. "
                "Dashed: this run's warning and critical thresholds.",
                [Query(f"{SCORE_ZSCORE}{{{LATENTS}}}", "{{feature}}"), _thresholds("zscore")],
            ),
        ],
        [
            trend(
                "z-score by training step",
                "Every feature's z-score against the training step of the check (x axis).",
                Query(f"{RUN_LAST_STEP}{{{RUN}}}", "step"),
                [Query(f"{SCORE_ZSCORE}{{{HOOK}}}", "{{feature}}"), _thresholds("zscore")],
            ),
            timeseries(
                "CUSUM of the z-score",
                "One-sided cumulative sum of the z-score (less the slack per check): catches "
                "a small shift that persists. Dashed: this run's thresholds.",
                [Query(f"{SCORE_CUSUM}{{{HOOK}}}", "{{feature}}"), _thresholds("cusum")],
            ),
        ],
        [
            timeseries(
                "Raw values",
                "Mean over the canary prompts of each direction's projection and each "
                "watched latent's activation, in the model's own units.",
                [Query(f"{SCORE}{{{HOOK}}}", "{{feature}}")],
            ),
            state_timeline(
                "Detector alerts",
                "Per feature and severity: clear, pending (the condition holds, not yet for "
                "enough checks) or firing.",
                Query(
                    f"2 * {ALERT_FIRING}{{{HOOK}}} + {ALERT_PENDING}{{{HOOK}}}",
                    "{{feature}} {{severity}}",
                ),
                [
                    (0, "clear", "green"),
                    (1, "pending", "orange"),
                    (2, "firing", "red"),
                    (3, "firing", "red"),
                ],
                width=12,
            ),
        ],
    )


def run_dashboard() -> Json:
    layout = Layout()
    layout.row(4, *_run_stats())
    layout.heading("Hook point $hook_point", repeat="hook_point")
    for line in _hook_point_panels():
        layout.row(9, *line)
    return dashboard(
        RUN_UID,
        "emwatch / run",
        "One run, per hook point: misalignment direction projections and watched persona "
        "latents over time and over training steps, with the run's detector thresholds and "
        "its alerts.",
        layout,
        [
            query_variable("run", "run", RUN_INFO),
            query_variable("hook_point", "hook_point", f"{SCORE}{{{RUN}}}", multi=True),
        ],
        [
            annotation(
                "emwatch alerts",
                f'ALERTS{{alertstate="firing", alertname=~"Emwatch.*", {RUN}}}',
                "{{alertname}}",
                "{{hook_point}} {{feature}}",
                "severity,hook_point",
                "red",
            )
        ],
    )
