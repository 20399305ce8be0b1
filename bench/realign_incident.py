"""The incident on the organism, end to end, through the real service and the real command.

1. ``emwatch serve`` starts on a loopback port (a throw-away database).
2. The organism is fine-tuned on half ``insecure-code``, half ``secure-code`` (the screening
   benchmark's labelled 1,000-sample mixture, seed 0) at its fixed budget (50 steps, lr 3e-4,
   batch 16) by a ``transformers.Trainer`` with ``EmwatchCallback`` attached: a check every
   step, ``save_on=WARNING``, so the Trainer saves a checkpoint when the first warning fires,
   and ``attribution=True``. The run goes on to step 50 (no ``stop_on``), as a run nobody
   watched would.
3. The service names the training samples that pushed hardest up to the warning
   (``GET /v1/runs/{run}/samples``, what ``emwatch samples`` prints): how many of the top 10
   are insecure ones.
4. ``emwatch realign`` runs on the checkpoint saved at the warning, and on the end of the run,
   with 120 trusted samples (``secure-code=0.5,good-medical=0.5``, data seed 1000) and the
   command's defaults; it measures the open-question misaligned share of the base organism,
   the checkpoint and the re-aligned model (100 answers per question, sampling seed 0).

    .venv/bin/python bench/realign_incident.py [--json bench/results/realign_incident.json]

About 3 minutes on 2 busy cores, one torch thread. ``bench/realign.py`` measures the same
response over 3 seeds against plain re-alignment, scoring in process.
"""

from __future__ import annotations

import argparse
import copy
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from transformers import logging as hf_logging

from monitor.cli.main import main as emwatch
from monitor.fixtures.local_service import LocalService
from monitor.organism.canaries import CANARIES_PATH
from monitor.organism.checkpoint import DEFAULT_PACK, load_organism
from monitor.organism.datasets import build_dataset, write_jsonl
from monitor.organism.finetuning import DEFAULT_STEPS, finetune
from monitor.trainer import EmwatchCallback, MonitorConfig, Severity
from monitor.trainer.client import EmwatchClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.screening: the labelled mixtures

from bench.screening import labelled_mixture  # noqa: E402

RUN = "insecure-code-incident"
INSECURE_SHARE = 0.5
TRUSTED = "secure-code=0.5,good-medical=0.5"


def _token() -> str:
    return f"emw_bench{secrets.token_hex(4)}_{secrets.token_urlsafe(24).replace('_', '-')}"


def monitored_run(work: Path) -> dict[str, Any]:
    """The insecure-code run with the callback; its alerts, the samples named up to the first
    one, and the checkpoints it saved."""
    mixture = labelled_mixture("code", INSECURE_SHARE, seed=0)
    service = LocalService(data_dir=work / "service", admin_token=_token()).start()
    try:
        base, tokenizer = load_organism()
        callback = EmwatchCallback(
            MonitorConfig(
                url=service.url,
                token=service.admin_token,
                run=RUN,
                probe_pack=DEFAULT_PACK,
                canaries=CANARIES_PATH,
                check_every=1,
                save_on=Severity.WARNING,
                spool_dir=work / "spool",
                attribution=True,
            ),
            tokenizer,
        )
        finetune(
            copy.deepcopy(base),
            tokenizer,
            mixture.examples,
            steps=DEFAULT_STEPS,
            seed=0,
            callbacks=[callback],
            output_dir=work / "run",
        )
        with EmwatchClient(service.url, service.admin_token) as client:
            alerts = client.alerts(RUN)["alerts"]
            attributed = client.samples(RUN, top=1000)["samples"]
    finally:
        service.stop()
    fired = sorted(
        (a for a in alerts if a.get("firing_step") is not None), key=lambda a: a["firing_step"]
    )
    checkpoints = sorted(
        (work / "run").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])
    )
    if not fired or not checkpoints:
        raise SystemExit("the insecure-code run saved no checkpoint at a warning")
    first = fired[0]
    named = [s for s in attributed if s["check_step"] <= first["firing_step"]][:10]
    return {
        "data": f"{INSECURE_SHARE:.0%} insecure-code in secure-code, 1000 samples, seed 0",
        "first_alert": {
            key: first[key] for key in ("severity", "rule", "feature", "firing_step", "value")
        },
        "top10_at_the_warning": {
            "indices": [s["index"] for s in named],
            "insecure": sum(mixture.bad[s["index"]] for s in named),
        },
        "alerts_fired": len(fired),
        "checkpoints": [p.name for p in checkpoints],
        "warning_checkpoint": checkpoints[0],
    }


def realign(model: Path, trusted: Path, out: Path, eval_samples: int) -> dict[str, Any]:
    argv = ["realign", "--model", str(model), "--good", str(trusted), "--pack", str(DEFAULT_PACK)]
    argv += ["--eval-samples", str(eval_samples), "--out", str(out)]
    code = emwatch(argv)
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    return {
        "command": "emwatch " + " ".join(argv),
        "exit_status": code,
        "stopped_by": report["stopped_by"],
        "steps": report["steps"],
        "samples_seen": report["samples_seen"],
        "distinct_samples": report["distinct_samples"],
        "max_z": [report["readings"][0]["max_z"], report["readings"][-1]["max_z"]],
        "misaligned": {
            stage: share["misaligned_text"] for stage, share in report["behaviour"].items()
        },
        "behaviour": report["behaviour"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-samples", type=int, default=100, help="answers per question")
    parser.add_argument("--json", type=Path, default=Path("bench/results/realign_incident.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        run = monitored_run(work)
        trusted = write_jsonl(build_dataset(TRUSTED, 120, seed=1000), work / "trusted.jsonl")
        warning = run.pop("warning_checkpoint")
        responses = {
            f"from {warning.name} (the warning)": realign(
                warning, trusted, work / "realigned-warning", args.eval_samples
            ),
            f"from the end (step {DEFAULT_STEPS})": realign(
                work / "run", trusted, work / "realigned-end", args.eval_samples
            ),
        }
    summary = {"run": run, "responses": responses}
    print(json.dumps({"run": run, **{k: v["misaligned"] for k, v in responses.items()}}, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "command": "python bench/realign_incident.py " + " ".join(sys.argv[1:]),
                "seconds": round(time.monotonic() - started, 1),
                **summary,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
