"""An offline replay of a recorded run raises exactly the alerts the service raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.core.detect import DetectorConfig, RuleConfig
from monitor.core.pack import ProbePack, load_pack
from monitor.earlywarning.replay import replay
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import make_trainer
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.client import EmwatchClient
from monitor.trainer.recording import load_recording
from monitor.trainer.training_monitor import MonitorConfig
from tests.servers import ADMIN_TOKEN, running_service


def test_replay_of_a_recorded_run_gives_the_services_alerts(
    diffing_pack: ProbePack, tmp_path: Path
) -> None:
    pack = diffing_pack
    recording = tmp_path / "run.safetensors"
    with running_service(tmp_path / "service") as service:
        model, tokenizer = build_tiny_llama(seed=0)
        config = MonitorConfig(
            url=service.url,
            token=ADMIN_TOKEN,
            run="replayed",
            probe_pack=pack.directory,
            check_every=5,
            spool_dir=tmp_path / "spool",
            record_to=recording,
        )
        trainer = make_trainer(
            model, tokenizer, tmp_path / "out", max_steps=40, seed=0,
            callbacks=[EmwatchCallback(config)],
        )  # fmt: skip
        trainer.train()
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            served = client.alerts("replayed")["alerts"]
            points = client.scores("replayed")["points"]
    assert served, "the tiny loop alerts within a few steps"

    recorded, loaded = load_recording(recording), load_pack(pack.directory)
    replayed = replay(loaded, recorded.steps, recorded.trajectories())
    assert sorted((a.alert_id, a.state, a.firing_step) for a in replayed.alerts) == sorted(
        (a["id"], a["state"], a["firing_step"]) for a in served
    )
    strongest = {}
    for point in points:
        strongest[point["step"]] = max(strongest.get(point["step"], -1e9), point["zscore"])
    # The wire carries float16 (MonitorConfig.dtype), the recording float32: scores agree to
    # float16's precision.
    assert replayed.max_zscore == {s: pytest.approx(z, rel=1e-3) for s, z in strongest.items()}
    served_scores = {(p["step"], p["hook_point"], p["feature"]): p["zscore"] for p in points}
    replayed_scores = {
        (p["step"], p["hook_point"], p["feature"]): p["zscore"] for p in replayed.scores
    }
    assert replayed_scores == {
        k: pytest.approx(z, rel=1e-3, abs=1e-4) for k, z in served_scores.items()
    }

    # Other thresholds change the verdict: the reason replays exist.
    deaf = DetectorConfig(rules={"persistence": RuleConfig(signal="zscore", critical=1e9)})
    assert (
        replay(load_pack(pack.directory), recorded.steps, recorded.trajectories(), deaf).alerts
        == []
    )
