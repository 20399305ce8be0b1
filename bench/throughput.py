"""Throughput benchmark: everything measured side by side in one run, reported as ratios.

1. Ingest + score: the binary wire format (safetensors) versus the same activations as JSON
   float lists, both decoded and scored by the same code in this process; plus the binary path
   over real HTTP into `emwatch serve` (SQLite), end to end.
2. Watched-latent scoring versus sae-lens' full ``SAE.encode`` for a d_model 4096, d_sae 65536
   SAE with 64 watched latents, with numpy's raw matmul on the same bytes as the physical
   reference.

    .venv/bin/python bench/throughput.py [--quick] [--json bench/results/throughput.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from monitor.core.pack import HookPointSpec, ProbePack, SaeSpec, WatchedLatent, write_pack
from monitor.core.pack.pack import direction_spec, new_provenance
from monitor.core.sae import StandardEncoder, TopKEncoder, load_sae_folder
from monitor.core.scoring import score_activations
from monitor.core.wire import Check, decode_check, encode_check
from monitor.fixtures.local_service import LocalService
from monitor.trainer.client import EmwatchClient

D_MODEL, D_SAE, N_WATCHED = 4096, 65536, 64
N_PROMPTS = 16
HOOKS = ("model.layers.8", "model.layers.16", "model.layers.24")


def timed(function: Callable[[], Any], repeats: int) -> float:
    """Median seconds per call over ``repeats`` calls, after one warm-up call."""
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def save_sae(sae_dir: Path, architecture: str, d_sae: int) -> None:
    from sae_lens import StandardSAE, StandardSAEConfig, TopKSAE, TopKSAEConfig

    torch.manual_seed(0)
    if architecture == "topk":
        sae: Any = TopKSAE(TopKSAEConfig(d_in=D_MODEL, d_sae=d_sae, k=64))
    else:
        sae = StandardSAE(StandardSAEConfig(d_in=D_MODEL, d_sae=d_sae))
    sae.save_model(sae_dir)


def watched_indices(d_sae: int) -> tuple[int, ...]:
    return tuple(i * (d_sae // N_WATCHED) for i in range(N_WATCHED))


def ingest_pack(work: Path) -> ProbePack:
    """Directions at three hook points and a standard SAE (d_sae 8192, 64 watched) at one.

    The SAE is smaller than the latent benchmark's so the pack uploads quickly; scoring cost
    of watched latents does not depend on d_sae for this architecture.
    """
    d_sae = 8192
    save_sae(work / "ingest-sae", "standard", d_sae)
    watched = [WatchedLatent(index=i) for i in watched_indices(d_sae)]
    vectors = {(hook, "em"): torch.randn(D_MODEL) for hook in HOOKS}
    specs = {
        hook: HookPointSpec(
            directions=[direction_spec("em", vectors[(hook, "em")], "manual")],
            sae=SaeSpec(
                source="local",
                path="sae",
                architecture="standard",
                d_sae=d_sae,
                watched_latents=watched,
            )
            if hook == HOOKS[1]
            else None,
        )
        for hook in HOOKS
    }
    return write_pack(
        work / "ingest-pack",
        name="bench-ingest",
        hook_points=specs,
        directions=vectors,
        sae_folders={"sae": work / "ingest-sae"},
        provenance=new_provenance("bench/random", D_MODEL, {"method": "random"}),
    )


def ingest_benchmark(repeats: int, work: Path) -> dict[str, Any]:
    pack = ingest_pack(work)
    activations = {hook: torch.randn(N_PROMPTS, D_MODEL) for hook in HOOKS}
    check = Check("bench", 0, "c" * 64, activations)
    binary = encode_check(check, dtype="float32")
    binary16 = encode_check(check, dtype="float16")
    as_json = json.dumps({hook: tensor.tolist() for hook, tensor in activations.items()}).encode()

    def binary_path() -> None:
        score_activations(pack, decode_check(binary).activations)

    def json_path() -> None:
        parsed = json.loads(as_json)
        score_activations(pack, {hook: torch.tensor(rows) for hook, rows in parsed.items()})

    binary_s, json_s = timed(binary_path, repeats), timed(json_path, repeats)
    token = f"emw_bench{secrets.token_hex(3)}_{secrets.token_urlsafe(24).replace('_', '-')}"
    service = LocalService(work / "service", token).start()
    try:
        with EmwatchClient(service.url, token) as client:
            client.register_pack(pack.directory)
            client.create_run({"name": "bench", "probe_pack": pack.name})
            n_http = repeats * 2
            start = time.perf_counter()
            for step in range(n_http):
                body = encode_check(Check("bench", step, "c" * 64, activations), dtype="float16")
                client.send_check("bench", body)
            http_s = (time.perf_counter() - start) / n_http
    finally:
        service.stop()
    return {
        "payload_bytes": {
            "binary_float32": len(binary),
            "binary_float16": len(binary16),
            "json": len(as_json),
        },
        "binary_decode_score_s": binary_s,
        "json_decode_score_s": json_s,
        "json_over_binary": json_s / binary_s,
        "http_binary_float16_ingest_s": http_s,
        "http_checks_per_s": 1.0 / http_s,
    }


def latent_benchmark(architecture: str, work: Path, repeats: int) -> dict[str, Any]:
    from sae_lens import SAE

    sae_dir = work / f"sae-{architecture}"
    save_sae(sae_dir, architecture, D_SAE)
    watched = watched_indices(D_SAE)
    encoder = load_sae_folder(sae_dir, watched)
    reference = SAE.load_from_disk(sae_dir)
    x = torch.randn(N_PROMPTS, D_MODEL)
    with torch.no_grad():
        torch.testing.assert_close(
            encoder.encode(x), reference.encode(x)[:, list(watched)], atol=1e-5, rtol=1e-5
        )
        watched_s = timed(lambda: encoder.encode(x), repeats)
        full_s = timed(lambda: reference.encode(x), repeats)
    x_np = x.numpy()
    w_full = reference.W_enc.detach().numpy()  # [d_model, d_sae], shares torch's memory
    numpy_full_s = timed(lambda: x_np @ w_full, repeats)
    if isinstance(encoder, StandardEncoder):
        w_watched = encoder.w_enc.numpy()  # [d_model, n_watched]
        numpy_watched_s = timed(lambda: x_np @ w_watched, repeats)
    else:
        assert isinstance(encoder, TopKEncoder)
        numpy_watched_s = numpy_full_s  # TopK must rank every latent: the full matmul is the floor
    return {
        "architecture": architecture,
        "watched_encode_s": watched_s,
        "sae_lens_full_encode_s": full_s,
        "numpy_full_matmul_s": numpy_full_s,
        "numpy_reference_matmul_s": numpy_watched_s,
        "full_over_watched": full_s / watched_s,
        "watched_over_numpy_reference": watched_s / numpy_watched_s,
        "full_over_numpy_full": full_s / numpy_full_s,
        "encoder_bytes_held": encoder.w_enc.numel() * 4,
        "sae_lens_bytes_held": sum(p.numel() * p.element_size() for p in reference.parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20
    torch.set_num_threads(torch.get_num_threads())
    with tempfile.TemporaryDirectory(prefix="emwatch-bench-") as scratch:
        work = Path(scratch)
        ingest = ingest_benchmark(repeats, work)
        results = [latent_benchmark(arch, work, repeats) for arch in ("standard", "topk")]
    report = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "shape": {
            "d_model": D_MODEL,
            "d_sae": D_SAE,
            "n_watched": N_WATCHED,
            "n_prompts": N_PROMPTS,
            "hook_points": len(HOOKS),
        },
        "ingest": ingest,
        "latents": results,
    }
    payload = ingest["payload_bytes"]
    print(f"ingest + score, {N_PROMPTS} prompts x {len(HOOKS)} hook points x d_model {D_MODEL}")
    print(
        f"  payload  binary f32 {payload['binary_float32'] / 1e6:.2f} MB   binary f16 "
        f"{payload['binary_float16'] / 1e6:.2f} MB   JSON {payload['json'] / 1e6:.2f} MB"
    )
    print(
        f"  decode+score  binary {ingest['binary_decode_score_s'] * 1e3:.2f} ms   JSON "
        f"{ingest['json_decode_score_s'] * 1e3:.2f} ms   JSON/binary "
        f"{ingest['json_over_binary']:.1f}x"
    )
    print(
        f"  over HTTP into emwatch serve (SQLite, f16 body): "
        f"{ingest['http_checks_per_s']:.1f} checks/s"
    )
    print(f"latent scoring, d_sae {D_SAE}, {N_WATCHED} watched latents, x [{N_PROMPTS}, {D_MODEL}]")
    for r in results:
        print(
            f"  {r['architecture']:<8} watched {r['watched_encode_s'] * 1e3:.3f} ms   sae-lens "
            f"full {r['sae_lens_full_encode_s'] * 1e3:.2f} ms   numpy full matmul "
            f"{r['numpy_full_matmul_s'] * 1e3:.2f} ms   numpy reference "
            f"{r['numpy_reference_matmul_s'] * 1e3:.3f} ms"
        )
        print(
            f"           sae-lens-full/watched {r['full_over_watched']:.1f}x   "
            f"watched/numpy-reference {r['watched_over_numpy_reference']:.2f}x   "
            f"sae-lens-full/numpy-full {r['full_over_numpy_full']:.2f}x   memory held "
            f"{r['encoder_bytes_held'] / 1e6:.1f} MB vs {r['sae_lens_bytes_held'] / 1e6:.0f} MB"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
