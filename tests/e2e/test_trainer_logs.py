"""emwatch's numbers in the Trainer's own logs: a real Trainer with report_to="tensorboard"
against a real service, the event file read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from transformers import Trainer, TrainingArguments

from monitor.core.pack import ProbePack
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import ChatDataset, narrow_task, pad_batch
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.client import EmwatchClient
from monitor.trainer.training_monitor import MonitorConfig
from tests.servers import ADMIN_TOKEN, running_service

Z_TAG = "train/emwatch/z/model.layers.1/direction_narrow_task"


def scalars(accumulator: EventAccumulator, tag: str) -> dict[int, float]:
    return {event.step: event.value for event in accumulator.Scalars(tag)}


def test_check_numbers_reach_tensorboard_next_to_the_loss(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path
) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    pad_id = int(tokenizer.pad_token_id or 0)
    with running_service(tmp_path / "service") as service:
        trainer = Trainer(
            model=model,
            args=TrainingArguments(
                output_dir=str(tmp_path / "out"),
                max_steps=12,
                per_device_train_batch_size=8,
                learning_rate=2e-3,
                lr_scheduler_type="constant",
                logging_steps=4,
                report_to=["tensorboard"],
                save_strategy="no",
                use_cpu=True,
                disable_tqdm=True,
            ),
            train_dataset=ChatDataset(tokenizer, narrow_task(128)),
            data_collator=lambda items: pad_batch(pad_id, items),
            processing_class=tokenizer,
            callbacks=[
                EmwatchCallback(
                    MonitorConfig(
                        url=service.url,
                        token=ADMIN_TOKEN,
                        run="tb",
                        probe_pack=diffing_pack.directory,
                        check_every=3,
                        spool_dir=spool_dir,
                        retry_interval=0.1,
                    )
                )
            ],
        )
        trainer.train()
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            zscores = {
                p["step"]: p["zscore"]
                for p in client.scores("tb", hook_point="model.layers.1")["points"]
                if p["feature"] == "direction:narrow_task"
            }
            firing = client.alerts("tb", state="firing")["alerts"]

    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    events = EventAccumulator(str(run_dir))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/emwatch/max_zscore", "train/emwatch/alert_level", Z_TAG} <= tags
    check_steps = scalars(events, "train/emwatch/check_step")
    logged_z = scalars(events, Z_TAG)
    # Every logged number is the service's number for the check it names ...
    assert check_steps and set(check_steps.values()) <= set(map(float, zscores))
    for step, z in logged_z.items():
        assert z == pytest.approx(zscores[int(check_steps[step])], rel=1e-5)
    # ... logged at most one step after that check, the last one at the last step.
    assert all(0 <= step - check <= 1 for step, check in check_steps.items())
    assert check_steps[12] == 12.0
    level = 2.0 if any(a["severity"] == "critical" for a in firing) else float(bool(firing))
    assert scalars(events, "train/emwatch/alert_level")[12] == level
    assert set(scalars(events, "train/loss")) >= {4, 8, 12}  # the user's own logging stays
    logged = [e for e in trainer.state.log_history if "emwatch/check_step" in e]
    assert logged[-1]["step"] == 12 and "loss" in logged[-1]  # log_history has them too
