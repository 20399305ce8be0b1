from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from monitor.core.pack import MANIFEST_NAME, ProbePackError, load_pack
from tests.factories import D_MODEL, HOOKS, make_pack


def _edit_manifest(pack_dir: Path, edit: dict[str, object]) -> None:
    manifest = json.loads((pack_dir / MANIFEST_NAME).read_text())
    manifest.update(edit)
    (pack_dir / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    written = make_pack(tmp_path / "pack")
    loaded = load_pack(tmp_path / "pack")
    assert loaded.content_hash == written.content_hash
    assert loaded.hook_points == list(HOOKS)
    assert loaded.d_model == D_MODEL
    first = loaded.hooks[HOOKS[0]]
    assert first.features == ["direction:em", "latent:5", "latent:9"]
    assert [w.sign for w in first.watched] == [1, -1]
    assert float(first.directions[0].unit.norm()) == pytest.approx(1.0)
    assert loaded.manifest.provenance.model_id == "tiny-test-model"
    assert set(loaded.manifest.files) == {
        "directions.safetensors",
        f"sae/{HOOKS[0]}/cfg.json",
        f"sae/{HOOKS[0]}/sae_weights.safetensors",
    }


def test_missing_directory_and_manifest(tmp_path: Path) -> None:
    with pytest.raises(ProbePackError, match="does not exist"):
        load_pack(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProbePackError, match="has no manifest.json"):
        load_pack(tmp_path / "empty")


def test_invalid_json_and_schema(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    make_pack(pack)
    (pack / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ProbePackError, match="not valid JSON"):
        load_pack(pack)


def test_future_schema_version_asks_for_upgrade(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")
    _edit_manifest(tmp_path / "pack", {"schema_version": 99})
    with pytest.raises(ProbePackError, match="schema_version 99 .*upgrade emwatch"):
        load_pack(tmp_path / "pack")


def test_bad_hook_point_name_is_a_schema_error(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")
    manifest = json.loads((tmp_path / "pack" / MANIFEST_NAME).read_text())
    manifest["hook_points"]["layers 3!"] = manifest["hook_points"].pop(HOOKS[1])
    (tmp_path / "pack" / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ProbePackError, match="hook_points.layers 3!"):
        load_pack(tmp_path / "pack")


def test_missing_weight_file(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")
    (tmp_path / "pack" / "directions.safetensors").unlink()
    with pytest.raises(
        ProbePackError, match="'directions.safetensors' named in manifest.json is missing"
    ):
        load_pack(tmp_path / "pack")


def test_changed_file_fails_hash_check(tmp_path: Path) -> None:
    make_pack(tmp_path / "pack")
    save_file(
        {f"{h}/em": torch.ones(D_MODEL) for h in HOOKS},
        tmp_path / "pack" / "directions.safetensors",
    )
    with pytest.raises(ProbePackError, match="changed after the pack was written"):
        load_pack(tmp_path / "pack")


def _rewrite_directions(pack: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Replace the direction file *and* its recorded hash, so only the content check remains."""
    from monitor.core.pack.pack import file_sha256

    save_file(tensors, pack / "directions.safetensors")
    manifest = json.loads((pack / MANIFEST_NAME).read_text())
    manifest["files"]["directions.safetensors"] = file_sha256(pack / "directions.safetensors")
    (pack / MANIFEST_NAME).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (torch.ones(D_MODEL + 1), r"has shape \(17,\), expected \(16,\) = d_model"),
        (torch.full((D_MODEL,), float("nan")), "NaN or infinite"),
        (torch.zeros(D_MODEL), "zero vector"),
    ],
)
def test_bad_direction_content(tmp_path: Path, bad: torch.Tensor, message: str) -> None:
    pack = tmp_path / "pack"
    make_pack(pack)
    _rewrite_directions(pack, {f"{HOOKS[0]}/em": bad, f"{HOOKS[1]}/em": torch.ones(D_MODEL)})
    with pytest.raises(ProbePackError, match=message):
        load_pack(pack)


def test_pack_width_is_checked_against_the_weights(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    make_pack(pack)
    manifest = json.loads((pack / MANIFEST_NAME).read_text())
    manifest["provenance"]["d_model"] = 8
    (pack / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ProbePackError, match=r"expected \(8,\) = d_model"):
        load_pack(pack)


def test_unknown_sae_architecture_is_named(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    make_pack(pack)
    sae_dir = pack / "sae" / HOOKS[0]
    cfg = json.loads((sae_dir / "cfg.json").read_text())
    cfg["architecture"] = "temporal"
    (sae_dir / "cfg.json").write_text(json.dumps(cfg))
    from monitor.core.pack.pack import file_sha256

    manifest = json.loads((pack / MANIFEST_NAME).read_text())
    manifest["files"][f"sae/{HOOKS[0]}/cfg.json"] = file_sha256(sae_dir / "cfg.json")
    (pack / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ProbePackError, match="unknown SAE architecture 'temporal'"):
        load_pack(pack)


def test_path_traversal_is_refused(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    make_pack(pack)
    manifest = json.loads((pack / MANIFEST_NAME).read_text())
    manifest["files"]["../outside.bin"] = "0" * 64
    (pack / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ProbePackError, match="must not contain '..'"):
        load_pack(pack)


def test_copy_of_pack_loads_identically(tmp_path: Path) -> None:
    written = make_pack(tmp_path / "pack")
    shutil.copytree(tmp_path / "pack", tmp_path / "copy")
    assert load_pack(tmp_path / "copy").content_hash == written.content_hash
