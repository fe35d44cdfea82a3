"""unnatural.distill.data: real labelled sets (digits, CIFAR pickles, image folders) and the shader-image loader."""
from __future__ import annotations

import hashlib
import pickle
from collections import Counter

import numpy as np
import pytest
import torch
import webdataset as wds
from PIL import Image

from unnatural.distill.data import SPLITS, load_real, shader_loader, shard_urls
from unnatural.generator.job import render_dataset
from unnatural.generator.spec import DatasetSpec

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# ---------------------------------------------------------------- digits

@pytest.fixture(scope="module")
def digits() -> dict:
    return {split: load_real("digits", split, size=8) for split in SPLITS}


def test_digits_split_sizes_and_stratification(digits):
    sizes = {split: len(d) for split, d in digits.items()}
    assert sum(sizes.values()) == 1797
    assert abs(sizes["train"] / 1797 - 0.6) < 0.01
    assert abs(sizes["val"] / 1797 - 0.2) < 0.01 and abs(sizes["test"] / 1797 - 0.2) < 0.01
    overall = torch.cat([d.y for d in digits.values()]).bincount(minlength=10).double() / 1797
    for d in digits.values():
        assert d.classes == [str(c) for c in range(10)] and d.num_classes == 10
        share = d.y.bincount(minlength=10).double() / len(d)
        assert (share > 0).all() and (share - overall).abs().max() < 0.01


def test_digits_splits_do_not_overlap(digits):
    rows = {split: {r.tobytes() for r in d.x.flatten(1).numpy()} for split, d in digits.items()}
    assert sum(len(r) for r in rows.values()) == 1797  # the 1,797 digits are distinct images
    assert not rows["train"] & rows["val"] and not rows["train"] & rows["test"] and not rows["val"] & rows["test"]


@pytest.mark.parametrize("size", [32, 16])
def test_digits_shape_range_and_determinism(digits, size):
    d = load_real("digits", "val", size=size)
    assert d.x.shape == (len(digits["val"]), 3, size, size) and d.x.dtype == torch.float32
    assert d.y.dtype == torch.int64 and torch.equal(d.y, digits["val"].y)
    assert d.x.min() >= 0 and d.x.max() <= 1 and d.x.max() > 0.9
    assert torch.equal(d.x[:, 0], d.x[:, 1]) and torch.equal(d.x[:, 0], d.x[:, 2])  # grey repeated to RGB
    again = load_real("digits", "val", size=size)  # the split is fixed
    assert torch.equal(d.x, again.x) and torch.equal(d.y, again.y)


def test_labelled_set_loader(digits):
    d = digits["train"]
    first = [y for _, y in d.loader(100, shuffle=True, seed=3)]
    assert torch.equal(torch.cat(first).sort().values, d.y.sort().values)
    assert torch.equal(torch.cat(first), torch.cat([y for _, y in d.loader(100, shuffle=True, seed=3)]))
    x, y = next(iter(d.loader(64, shuffle=False, drop_last=True)))
    assert x.shape == (64, 3, 8, 8) and torch.equal(y, d.y[:64])
    assert len(d.loader(100, shuffle=False, drop_last=True)) == len(d) // 100


# ---------------------------------------------------------------- CIFAR pickles

def _pickle(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def _cifar_part(rng, n: int, num_classes: int, label_key: bytes) -> dict:
    """One batch file in the release's layout: byte-string keys, (n, 3072) uint8 RGB planes."""
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            label_key: [i % num_classes for i in range(n)], b"filenames": [b"img%d.png" % i for i in range(n)]}


@pytest.fixture(scope="module")
def cifar10(tmp_path_factory):
    root = tmp_path_factory.mktemp("c10") / "cifar-10-batches-py"
    root.mkdir()
    rng = np.random.default_rng(0)
    parts = {f"data_batch_{i}": _cifar_part(rng, 30, 10, b"labels") for i in range(1, 6)}
    parts["test_batch"] = _cifar_part(rng, 20, 10, b"labels")
    for name, part in parts.items():
        _pickle(root / name, part)
    _pickle(root / "batches.meta", {b"label_names": [n.encode() for n in CIFAR10_NAMES], b"num_cases_per_batch": 30})
    return root, parts


def test_cifar10_loads_splits_labels_and_names(cifar10):
    root, parts = cifar10
    train, val, test = (load_real(f"cifar10:{root.parent}", split) for split in SPLITS)
    assert train.classes == CIFAR10_NAMES and train.num_classes == 10
    assert (len(train), len(val), len(test)) == (135, 15, 20)
    assert val.y.bincount(minlength=10).min() >= 1  # a stratified 10%: every class
    assert train.x.shape == (135, 3, 32, 32) and train.x.dtype == torch.float32 and train.y.dtype == torch.int64
    expected = torch.from_numpy(parts["test_batch"][b"data"].reshape(-1, 3, 32, 32)).float() / 255
    assert torch.equal(test.x, expected) and test.y.tolist() == parts["test_batch"][b"labels"]
    train_rows = {r.tobytes() for r in train.x.flatten(1).numpy()}
    assert not train_rows & {r.tobytes() for r in val.x.flatten(1).numpy()}
    small = load_real(f"cifar10:{root}", "test", size=16)  # the batches folder itself, resized
    assert small.x.shape == (20, 3, 16, 16) and 0 <= small.x.min() and small.x.max() <= 1


def test_cifar100_loads_fine_labels(tmp_path):
    root = tmp_path / "cifar-100-python"
    root.mkdir()
    rng = np.random.default_rng(1)
    train, test = _cifar_part(rng, 1000, 100, b"fine_labels"), _cifar_part(rng, 50, 100, b"fine_labels")
    for part in (train, test):
        part[b"coarse_labels"] = [label // 5 for label in part[b"fine_labels"]]
    _pickle(root / "train", train)
    _pickle(root / "test", test)
    names = [f"class{i:02d}" for i in range(100)]
    _pickle(root / "meta", {b"fine_label_names": [n.encode() for n in names], b"coarse_label_names": [b"c"] * 20})
    sets = {split: load_real(f"cifar100:{tmp_path}", split) for split in SPLITS}
    assert [len(s) for s in sets.values()] == [900, 100, 50]
    assert sets["test"].classes == names and sets["test"].y.tolist() == test[b"fine_labels"]
    assert sets["val"].y.bincount(minlength=100).min() == 1 and sets["train"].x.shape == (900, 3, 32, 32)


# ---------------------------------------------------------------- image folders

def _write_pngs(folder, classes: list[str], per_class: int):
    """Solid-colour PNGs whose red channel encodes the class (80 * index) and green the image."""
    for label, name in enumerate(classes):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (12, 10), (80 * label, 10 * i, 200)).save(folder / name / f"{i:03d}.png")


def test_image_folder_loads(tmp_path):
    _write_pngs(tmp_path, ["cat", "dog", "emu"], 20)
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    sets = {split: load_real(f"folder:{tmp_path}", split, size=8) for split in SPLITS}
    assert [len(s) for s in sets.values()] == [42, 9, 9]
    for s in sets.values():
        assert s.classes == ["cat", "dog", "emu"] and s.x.shape == (len(s), 3, 8, 8)
        assert s.y.bincount(minlength=3).tolist() == [len(s) // 3] * 3
        assert torch.allclose(s.x[:, 0].mean((1, 2)), s.y.float() * 80 / 255, atol=1e-6)


def test_image_folder_with_split_subfolders(tmp_path):
    for split, n in zip(SPLITS, (4, 2, 3)):
        _write_pngs(tmp_path / split, ["a", "b"], n)
    assert [len(load_real(f"folder:{tmp_path}", split, size=4)) for split in SPLITS] == [8, 4, 6]


def test_errors_name_the_bad_value(tmp_path, cifar10):
    with pytest.raises(FileNotFoundError, match="/nowhere/cifar"):
        load_real("cifar10:/nowhere/cifar", "train")
    with pytest.raises(ValueError, match=r"dataset 'imagenet:/x' is unknown.*digits \| cifar10:PATH"):
        load_real("imagenet:/x", "train")
    with pytest.raises(ValueError, match="dataset 'cifar10' is unknown"):
        load_real("cifar10", "train")
    with pytest.raises(ValueError, match="split 'eval'.*train, val, test"):
        load_real("digits", "eval")
    with pytest.raises(ValueError, match="has no data_batch_1.*kriz/cifar.html"):
        load_real(f"cifar10:{tmp_path}", "train")
    with pytest.raises(ValueError, match="has no train.*cifar-100-python"):
        load_real(f"cifar100:{cifar10[0]}", "train")
    with pytest.raises(ValueError, match="no class subfolders"):
        load_real(f"folder:{tmp_path}", "train")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="has no images"):
        load_real(f"folder:{tmp_path}", "train")


# ---------------------------------------------------------------- shader shards

def _render(tmp_path_factory, fmt: str, images: int):
    out = tmp_path_factory.mktemp(fmt)
    spec = DatasetSpec(name="s", images=images, images_per_shard=16, width=16, height=16, format=fmt,
                       mix={"plasma": 1.0})
    render_dataset(spec, out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def npy_shards(tmp_path_factory):
    return _render(tmp_path_factory, "npy", 64)


@pytest.fixture(scope="module")
def jpg_shards(tmp_path_factory):
    return _render(tmp_path_factory, "jpg", 40)


def _digest(image: np.ndarray) -> str:
    """Checksum of an HxWx3 uint8 image."""
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


def _shard_digests(shards: list[str]) -> Counter:
    """Checksums of every image in the shards, read directly with webdataset."""
    ds = wds.WebDataset(shards, shardshuffle=False, empty_check=False).decode("rgb8")
    return Counter(_digest(next(v for k, v in s.items() if k in ("npy", "jpg"))) for s in ds)


def _loader_digests(loader) -> tuple[Counter, list[torch.Tensor]]:
    batches = list(loader)
    for b in batches:
        assert b.dtype == torch.uint8 and b.ndim == 4 and b.shape[1:] == (3, 16, 16)
    return Counter(_digest(img.permute(1, 2, 0).numpy()) for b in batches for img in b), batches


@pytest.mark.parametrize("fmt, workers", [("npy", 2), ("jpg", 2), ("npy", 0)])
def test_shader_loader_yields_every_sample_once(npy_shards, jpg_shards, fmt, workers):
    folder = npy_shards if fmt == "npy" else jpg_shards
    shards = sorted(str(p) for p in folder.glob("*.tar"))
    loader = shader_loader(str(folder), 8, num_workers=workers, shuffle_buffer=20, seed=1)
    digests, batches = _loader_digests(loader)
    assert sum(len(b) for b in batches) == (64 if fmt == "npy" else 40)
    assert digests == _shard_digests(shards) and max(digests.values()) == 1
    assert max(len(b) for b in batches) == 8


def test_shader_loader_more_workers_than_shards(npy_shards):
    two = [str(npy_shards / "s-000000.tar"), str(npy_shards / "s-000001.tar")]
    loader = shader_loader(two, 5, num_workers=4)
    assert loader.num_workers == 2
    digests, batches = _loader_digests(loader)
    assert sum(len(b) for b in batches) == 32 and digests == _shard_digests(two)


def test_shader_loader_resampled_epochs_terminate(npy_shards):
    loader = shader_loader(str(npy_shards / "s-{000000..000003}.tar"), 10, resampled=True, epoch_samples=50,
                           num_workers=2)
    all_images = _shard_digests(sorted(str(p) for p in npy_shards.glob("*.tar")))
    for _ in range(2):  # two epochs of ceil(50 / (2 workers * 10)) = 3 full batches per worker
        digests, batches = _loader_digests(loader)
        assert [len(b) for b in batches] == [10] * 6 and set(digests) <= set(all_images)


def test_shard_urls_resolution(npy_shards, tmp_path, monkeypatch):
    tars = sorted(str(p) for p in npy_shards.glob("*.tar"))
    assert shard_urls(str(npy_shards)) == tars
    assert shard_urls(str(npy_shards / "s-{000000..000003}.tar")) == tars
    assert shard_urls([str(npy_shards / "*.tar")]) == tars
    monkeypatch.setenv("UNNATURAL_TOKEN", "")  # restored after the test
    served = "http://host/datasets/d/d-{000000..000001}.tar"
    assert shard_urls(served) == ["http://host/datasets/d/d-000000.tar", "http://host/datasets/d/d-000001.tar"]
    piped = shard_urls(served, token="secret")
    assert len(piped) == 2 and all(u.startswith("pipe:") and "secret" not in u for u in piped)
    with pytest.raises(ValueError, match=r"no shard matches .*s-000008\.tar.*s-\{000008\.\.000009\}\.tar"):
        shard_urls(str(npy_shards / "s-{000008..000009}.tar"))
    with pytest.raises(ValueError, match=str(tmp_path)):
        shader_loader(str(tmp_path), 4)
    with pytest.raises(ValueError, match="epoch_samples"):
        shader_loader(str(npy_shards), 4, epoch_samples=10)
