"""The re-alignment's report: ``report.json`` (every reading) and ``report.md`` (for people),
next to the re-aligned model, so the person who was paged can hand over one directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack
from monitor.core.units import pack_unit_kind, unit_kinds
from monitor.evals.report import EvalReport
from monitor.respond.gauge import Reading
from monitor.respond.realign import RealignResult, StoppedBy

SCHEMA = "emwatch-realign/1"


def _name(key: FeatureKey) -> str:
    return f"{key[0]} {key[1]}"


def _reading(reading: Reading) -> dict[str, Any]:
    key, z = reading.towards_persona()
    return {
        "step": reading.step,
        "max_z": round(z, 4),
        "max_feature": _name(key),
        "z": {_name(k): round(v, 4) for k, v in reading.zscores.items()},
    }


def _share(report: EvalReport) -> dict[str, Any]:
    misaligned, coherent = report.misaligned(), report.coherent()
    return {
        "misaligned": misaligned.to_dict(),
        "misaligned_text": misaligned.format(),
        "coherent": coherent.to_dict(),
    }


def report_json(
    result: RealignResult, pack: ProbePack, *, model: str = "", data: str = "", baseline: str = ""
) -> dict[str, Any]:
    config = result.config
    last = result.readings[-1]
    return {
        "schema": SCHEMA,
        "model": model,
        "data": data,
        "baseline": baseline,
        "pack": {
            "name": pack.name,
            "content_hash": pack.content_hash,
            "unit_kind": str(pack_unit_kind(pack)),
            "unit_kinds": {_name(k): str(v) for k, v in unit_kinds(pack).items()},
        },
        "config": {
            "budget": config.budget,
            "within": config.within,
            "two_sided": config.two_sided,
            "check_every": config.check_every,
            "learning_rate": config.learning_rate,
            "batch_size": config.batch_size,
            "seed": config.seed,
        },
        "stopped_by": str(result.stopped_by),
        "back": result.back,
        "steps": result.steps,
        "samples_seen": result.samples_seen,
        "distinct_samples": result.distinct_samples,
        "n_samples": result.n_samples,
        "train_loss": result.train_loss,
        "seconds": round(result.seconds, 3),
        "probe_seconds": round(result.probe_seconds, 3),
        "still_outside": [
            _name(k) for k in last.outside(config.within, two_sided=config.two_sided)
        ],
        "readings": [_reading(r) for r in result.readings],
        "behaviour": {stage: _share(report) for stage, report in result.behaviour.items()},
    }


def report_markdown(report: dict[str, Any]) -> str:
    config = report["config"]
    side = "either side" if config["two_sided"] else "towards the persona"
    units = f"{config['within']:g} unit{'' if config['within'] == 1 else 's'}"
    first, last = report["readings"][0], report["readings"][-1]
    verdict = {
        str(StoppedBy.PROBES): f"**Back**: every feature within {units} "
        f"({side}) after {report['steps']} steps.",
        str(StoppedBy.ALREADY_BACK): "**Already back**: the checkpoint was within "
        f"{units} ({side}); nothing was trained.",
        str(StoppedBy.BUDGET): f"**Not back** after the whole budget of {config['budget']} "
        f"steps: still outside {units}: "
        + ", ".join(f"`{name}`" for name in report["still_outside"])
        + ".",
    }[report["stopped_by"]]
    lines = [
        "# Re-alignment",
        "",
        verdict,
        "",
        f"- model: `{report['model']}`; trusted data: `{report['data']}` "
        f"({report['n_samples']} samples)",
        f"- baseline: `{report['baseline']}`; pack `{report['pack']['name']}` "
        f"({report['pack']['unit_kind']} units)",
        f"- {report['steps']} steps x batch {config['batch_size']} = {report['samples_seen']} "
        f"rows drawn, {report['distinct_samples']} distinct samples; lr "
        f"{config['learning_rate']:g}, seed {config['seed']}",
        f"- furthest towards the persona: z {first['max_z']:+.2f} (`{first['max_feature']}`) "
        f"at the checkpoint, z {last['max_z']:+.2f} (`{last['max_feature']}`) at the end",
        f"- {report['seconds']:.1f} s, of which {report['probe_seconds']:.1f} s reading the probes",
    ]
    if report["behaviour"]:
        lines += [
            "",
            "## Behaviour",
            "",
            "| model | misaligned [95% CI] | coherent |",
            "|---|---|---:|",
        ]
        for stage, share in report["behaviour"].items():
            coherent = share["coherent"]["share"]
            lines.append(f"| {stage} | {share['misaligned_text']} | {100 * coherent:.1f}% |")
    lines += [
        "",
        "## Probes",
        "",
        "| step | max z | feature |",
        "|---:|---:|---|",
    ]
    lines += [
        f"| {r['step']} | {r['max_z']:+.2f} | `{r['max_feature']}` |" for r in report["readings"]
    ]
    return "\n".join(lines) + "\n"


def write_report(
    result: RealignResult,
    pack: ProbePack,
    tokenizer: PreTrainedTokenizerBase,
    out: str | Path,
    *,
    model: str = "",
    data: str = "",
    baseline: str = "",
    save_model: bool = True,
) -> dict[str, Path]:
    """``report.json``, ``report.md`` and (unless told not to) the model in ``out/model``."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    report = report_json(result, pack, model=model, data=data, baseline=baseline)
    files = {"report.json": directory / "report.json", "report.md": directory / "report.md"}
    files["report.json"].write_text(json.dumps(report, indent=2) + "\n")
    files["report.md"].write_text(report_markdown(report))
    if save_model:
        files["model"] = directory / "model"
        result.model.save_pretrained(files["model"])
        tokenizer.save_pretrained(files["model"])
    return files
