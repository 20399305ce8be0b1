"""``emwatch probes build``: a validated probe pack for your own model, from files."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from monitor.cli.pack_summary import describe
from monitor.probe_building.sae_training import ARCHITECTURES, SaeTrainingConfig

EPILOG = """examples:
  # a fine-tuned model went bad: contrast judged answers, diff the models, train an SAE
  emwatch probes build --model base/ --finetuned bad-ft/ --contrast judged.jsonl \\
      --prompts questions.json --corpus corpus.jsonl --out packs/my-model --name my-model
  # no misaligned model yet: persona prompts only (directions, no latents)
  emwatch probes build --model base/ --persona-prompts --prompts questions.json \\
      --out packs/my-model-persona --name my-model-persona
"""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "build",
        help="build a probe pack for a model",
        description=(
            "Build a probe pack: misalignment directions at every candidate layer (by contrast "
            "answers, model diffing and/or persona prompts), keep the layer whose direction best "
            "separates held-out answers, train an SAE there with sae-lens (or use yours), pick "
            "watched latents by model diffing, and write the pack with a validation report "
            "(report/report.md and PNG plots). The first route given (contrast, then diffing, "
            "then persona) chooses the layer."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="base model: a local directory or hub id")
    parser.add_argument(
        "--model-id",
        help="the model's name in the pack's provenance (default: --model); give the hub id "
        "when --model is a local copy",
    )
    parser.add_argument("--out", type=Path, required=True, help="pack directory to write")
    parser.add_argument("--name", required=True, help="pack name (letters, digits, . _ -)")
    parser.add_argument(
        "--layers", nargs="+", help="hook points to consider (default: every model.layers.N)"
    )
    parser.add_argument(
        "--max-depth",
        type=float,
        default=0.75,
        help="choose the layer among model.layers.N with N <= this fraction of the depth "
        "(default %(default)s: published work reads middle layers, and a late layer makes "
        "every check nearly a full forward pass); 1 allows every layer",
    )
    parser.add_argument(
        "--watch-every-layer",
        action="store_true",
        help="write directions at every hook point considered, not only the best-separating "
        "one (the SAE stays at the best); a layer that separates less well may move earlier",
    )
    routes = parser.add_argument_group("direction routes (at least one)")
    routes.add_argument(
        "--contrast",
        type=Path,
        help="JSONL of judged answers "
        '({"messages", "label"} or {"messages", "aligned", "coherent"})',
    )
    routes.add_argument(
        "--finetuned", help="the misaligned fine-tune, for model diffing and latent diffing"
    )
    routes.add_argument(
        "--persona-prompts",
        action="store_true",
        help="villain vs assistant system prompts on the base model",
    )
    routes.add_argument(
        "--prompts",
        type=Path,
        help="open prompts (Betley JSON or JSONL chats) for diffing and persona prompts",
    )
    routes.add_argument("--samples", type=int, default=8, help="answers sampled per prompt")
    sae = parser.add_argument_group("SAE and watched latents")
    sae.add_argument(
        "--corpus",
        type=Path,
        help=".txt or JSONL corpus for SAE training and "
        "top-activating contexts (a 'label' field is reported per context)",
    )
    sae.add_argument("--sae", type=Path, help="use this sae-lens SAE folder instead of training")
    sae.add_argument(
        "--corpus-tokens",
        type=int,
        default=200_000,
        help="corpus tokens to read (SAE training and top contexts; default %(default)s)",
    )
    sae.add_argument("--sae-architecture", choices=ARCHITECTURES, default="topk")
    sae.add_argument("--sae-expansion", type=int, default=8, help="d_sae / d_model")
    sae.add_argument("--sae-k", type=int, default=16, help="TopK/BatchTopK active latents")
    sae.add_argument("--sae-steps", type=int, default=1500)
    sae.add_argument("--watch-top-k", type=int, default=4, help="watched latents to keep")
    sae.add_argument(
        "--persona-label",
        default="villain",
        help="corpus label whose share among top contexts is reported",
    )
    sae.add_argument(
        "--min-persona-share",
        type=float,
        default=0.5,
        help="watch a latent only if at least this share of its top contexts carry the persona "
        "label (default %(default)s: most of them; 0 keeps the ranking as it is)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """A malformed or missing input file is one ``error:`` line and exit status 2."""
    from monitor.probe_building.data import BuildDataError

    try:
        return _build(args)
    except (BuildDataError, OSError) as exc:
        print(f"error: {exc}")
        return 2


def _build(args: argparse.Namespace) -> int:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from monitor.probe_building.data import read_contrast, read_corpus, read_prompts
    from monitor.probe_building.pipeline import BuildInputs, build
    from monitor.probe_building.report import write_report
    from monitor.probe_building.sources import (
        from_contrast_answers,
        from_model_diffing,
        from_persona_prompts,
    )
    from monitor.probe_building.stages import StageClock

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (args.contrast or args.finetuned or args.persona_prompts):
        print("error: give at least one route: --contrast, --finetuned or --persona-prompts")
        return 2
    if (args.finetuned or args.persona_prompts) and not args.prompts:
        print("error: --finetuned and --persona-prompts need --prompts")
        return 2
    clock = StageClock()
    with clock.stage("load models"):
        tokenizer = AutoTokenizer.from_pretrained(args.model)
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype="float32")
        finetuned = (
            AutoModelForCausalLM.from_pretrained(args.finetuned, dtype="float32")
            if args.finetuned
            else None
        )
    hooks = args.layers or [f"model.layers.{i}" for i in range(model.config.num_hidden_layers)]
    prompts = read_prompts(args.prompts) if args.prompts else []
    contrasts = []
    if args.contrast:
        with clock.stage("contrast answers: activations at every hook point"):
            contrasts.append(
                from_contrast_answers(model, tokenizer, read_contrast(args.contrast), hooks)
            )
    if finetuned is not None:
        with clock.stage(f"model diffing: {args.samples} answers per prompt from each model"):
            contrasts.append(
                from_model_diffing(
                    model,
                    finetuned,
                    tokenizer,
                    prompts,
                    hooks,
                    samples=args.samples,
                    seed=args.seed,
                )
            )
    if args.persona_prompts:
        with clock.stage(f"persona prompts: {args.samples} answers per prompt and persona"):
            contrasts.append(
                from_persona_prompts(
                    model, tokenizer, prompts, hooks, samples=args.samples, seed=args.seed
                )
            )
    inputs = BuildInputs(
        model=model,
        tokenizer=tokenizer,
        model_id=args.model_id or str(args.model),
        hook_points=hooks,
        contrasts=contrasts,
        corpus=read_corpus(args.corpus, tokenizer) if args.corpus else None,
        corpus_tokens=args.corpus_tokens,
        sae_config=SaeTrainingConfig(
            architecture=args.sae_architecture,
            expansion=args.sae_expansion,
            k=args.sae_k,
            steps=args.sae_steps,
            seed=args.seed,
        ),
        sae_folder=args.sae,
        finetuned=finetuned,
        diff_prompts=prompts,
        watch_top_k=args.watch_top_k,
        watch_every_layer=args.watch_every_layer,
        eligible_hooks=shallow_hooks(hooks, model.config.num_hidden_layers, args.max_depth),
        persona_label=args.persona_label,
        min_persona_share=args.min_persona_share,
        seed=args.seed,
    )
    pack, report = build(inputs, args.out, args.name, clock)
    markdown = write_report(report, args.out)
    print(describe(pack))
    print(f"report: {markdown}")
    return 0


def shallow_hooks(hooks: list[str], n_layers: int, max_depth: float) -> list[str]:
    """The hook points the layer may be chosen from: ``model.layers.N`` up to ``max_depth`` of
    the model's depth (other hook points, named by the user, always)."""
    from monitor.probe_building.data import BuildDataError

    deepest = max_depth * (n_layers - 1)
    eligible = [
        hook
        for hook in hooks
        if not (hook.rsplit(".", 1)[-1].isdigit() and int(hook.rsplit(".", 1)[-1]) > deepest)
    ]
    if not eligible:
        raise BuildDataError(
            f"no hook point among {hooks[:3]}... lies within --max-depth {max_depth}; "
            "raise it or give shallower --layers"
        )
    return eligible
