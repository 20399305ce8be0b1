"""Attribution through the whole path: a real Trainer with the callback, a real service, and the
samples read back over HTTP name the planted hostile training samples, with their text; and
summaries spooled while the service is down arrive with their checks when it is back."""

from __future__ import annotations

from pathlib import Path

from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import ChatDataset, make_trainer
from monitor.trainer.attribution import dataset_token_ids
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.client import EmwatchClient
from monitor.trainer.training_monitor import MonitorConfig, TrainingMonitor
from tests.screening.conftest import build_hostile_pack
from tests.servers import ADMIN_TOKEN, ServiceProcess, free_port, running_service
from tests.trainer.test_attribution import CHATS, HOSTILE, train_step


def test_the_service_names_the_hostile_training_samples(tmp_path: Path) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    pack = build_hostile_pack(model, tokenizer, tmp_path / "pack")
    with running_service(tmp_path / "service") as service:
        callback = EmwatchCallback(
            MonitorConfig(
                url=service.url,
                token=ADMIN_TOKEN,
                run="attributed",
                probe_pack=pack.directory,
                check_every=2,
                spool_dir=tmp_path / "spool",
                attribution=True,
                attribution_top=5,
                attribution_text=True,
            )
        )
        trainer = make_trainer(
            model,
            tokenizer,
            tmp_path / "out",
            max_steps=4,
            learning_rate=1e-4,
            chats=CHATS,
            callbacks=[callback],
        )
        trainer.train()
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            answer = client.samples("attributed", top=3)

    windows = answer["windows"]
    assert [(w["first_step"], w["last_step"], w["n_samples"]) for w in windows] == [
        (1, 2, 16),
        (3, 4, 16),
    ]
    samples = answer["samples"]
    assert len(samples) == 3
    assert [s["score"] for s in samples] == sorted((s["score"] for s in samples), reverse=True)
    for sample in samples:
        assert sample["index"] in HOSTILE
        assert sample["text"] == CHATS[sample["index"]][-1]["content"]
        assert sample["check_step"] in (2, 4)


def test_summaries_spooled_while_the_service_is_down_arrive_with_their_checks(
    tmp_path: Path,
) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    pack = build_hostile_pack(model, tokenizer, tmp_path / "pack")
    dataset = ChatDataset(tokenizer, CHATS)
    service = ServiceProcess(tmp_path / "service", port=free_port())
    monitor = TrainingMonitor(
        MonitorConfig(
            url=service.url,  # nothing listens there yet
            token=ADMIN_TOKEN,
            run="spooled",
            probe_pack=pack.directory,
            check_every=2,
            spool_dir=tmp_path / "spool",
            retry_interval=0.2,
            flush_timeout=60,
            attribution=True,
        ),
        tokenizer,
    )
    monitor.start(model)
    monitor.index_dataset(dataset_token_ids(dataset) or [])
    for step, rows in enumerate(([0, 3, 5, 11], [17, 2, 8, 9]), start=1):
        train_step(model, dataset, rows)
        monitor.after_step(model, step)
    assert monitor.sender is not None and not monitor.sender.flushed  # still spooled
    service.start()
    try:
        assert monitor.close() is True  # the spool is replayed once the service answers
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            answer = client.samples("spooled", top=8)
    finally:
        service.stop()

    assert [(w["step"], w["first_step"], w["n_samples"]) for w in answer["windows"]] == [(2, 1, 8)]
    assert {s["index"] for s in answer["samples"]} == {0, 3, 5, 11, 17, 2, 8, 9}
