"""Would push screen the data before training? The exploration that made push a screen score.

Push (``monitor.trainer.attribution``) ranked the bad samples of every attribution window near
the most possible, the first window (steps 1-10, weights barely moved) included, while the
screen's projection separates insecure code from its secure twin with an AUROC of only 0.70.
This measures push on the *base* organism through attribution itself, as training batches it:
each 1,000-sample mixture of the screening benchmark (seeds 0-2) goes through one forward and
backward pass per batch of 16, with no optimizer step, and the AUROC of every distinct
sample's push against its true label is reported next to the AUROC of its projection. The
screen now scores push itself (``emwatch screen --by push``); ``bench/screening.py --by push``
measures it with thresholds and fine-tunes.

    .venv/bin/python bench/push_screen.py [--json bench/results/push_screen.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.screening: the mixtures, labelled

from bench.screening import FAMILIES, FRACTIONS, MEASURED_SEEDS, labelled_mixture  # noqa: E402
from monitor.core.attribution import MAX_TOP  # noqa: E402
from monitor.core.pack import load_pack  # noqa: E402
from monitor.evals.stats import auroc  # noqa: E402
from monitor.organism import load_organism  # noqa: E402
from monitor.organism.batching import pad_batch  # noqa: E402
from monitor.organism.checkpoint import DEFAULT_PACK  # noqa: E402
from monitor.organism.finetuning import encode_example  # noqa: E402
from monitor.trainer.attribution import SampleAttribution  # noqa: E402

BATCH = 16


def scores(family: str, fraction: float, seed: int) -> dict[str, Any]:
    mixture = labelled_mixture(family, fraction, seed)
    model, tokenizer = load_organism()
    model.train()
    attribution = SampleAttribution(load_pack(DEFAULT_PACK), top=MAX_TOP, reference_samples=64)
    encoded = [encode_example(tokenizer, example) for example in mixture.examples]
    attribution.index_dataset(row["input_ids"] for row in encoded)
    attribution.attach(model)
    push: dict[int, float] = {}
    projection: dict[int, float] = {}
    for step, start in enumerate(range(0, len(encoded), BATCH), start=1):
        rows = encoded[start : start + BATCH]
        batch = pad_batch(
            [r["input_ids"] for r in rows], [r["labels"] for r in rows], tokenizer.pad_token_id
        )
        model(**batch).loss.backward()
        model.zero_grad()  # no optimizer step: every batch is read on the base weights
        attribution.end_step(step)
        summary = attribution.summary(step)
        assert summary is not None and summary.ranking == "push"
        for sample in summary.top:  # top 100 of a batch of 16: every sample
            assert sample.index is not None and sample.projection is not None
            push[sample.index] = sample.score
            projection[sample.index] = sample.projection
    attribution.detach()

    def separation(values: dict[int, float]) -> float:
        bad = [v for i, v in values.items() if mixture.bad[i]]
        good = [v for i, v in values.items() if not mixture.bad[i]]
        return auroc(bad, good)

    return {
        "family": family,
        "fraction": fraction,
        "seed": seed,
        "distinct_samples": len(push),
        "auroc_push": separation(push),
        "auroc_projection": separation(projection),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    options = parser.parse_args()
    torch.set_num_threads(1)
    started = time.monotonic()
    rows = []
    for family in FAMILIES:
        for fraction in FRACTIONS:
            for seed in MEASURED_SEEDS:
                rows.append(scores(family, fraction, seed))
                print(json.dumps(rows[-1]), flush=True)
    results = {
        "command": ".venv/bin/python bench/push_screen.py",
        "seconds": round(time.monotonic() - started),
        "rows": rows,
    }
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
