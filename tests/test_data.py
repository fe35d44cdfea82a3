"""unnatural.distill.data: real labelled sets (digits, CIFAR pickles, image folders, MNIST-style IDX files),
the dataset grammar (unnatural.distill.datasets) and the shader-image loader."""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import webdataset as wds
from PIL import Image

from unnatural.distill import data as data_module
from unnatural.distill.data import (FASHION_MNIST_CLASSES, IDX_IMAGES, IDX_LABELS, SPLITS, load_real, read_idx,
                                    shader_loader, shard_urls)
from unnatural.distill.datasets import DATASETS, DEFAULT_PATHS, is_real_dataset, parse_dataset
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


# ---------------------------------------------------------------- dataset grammar

@pytest.mark.parametrize("text, kind, path, location", [
    ("digits", "digits", "", ""), ("cifar10:/c", "cifar10", "/c", "/c"), ("mnist:/m", "mnist", "/m", "/m"),
    ("fashion-mnist", "fashion-mnist", "", "/usr/share/datasets/fashion-mnist"),
    ("fashion-mnist:/f", "fashion-mnist", "/f", "/f"),
])
def test_parse_dataset(text, kind, path, location):
    ref = parse_dataset(text)
    assert (ref.kind, ref.path, ref.location) == (kind, path, location) and is_real_dataset(text)


@pytest.mark.parametrize("text", ["mnist", "mnist:", "fashion-mnist:", "digits:/x", "cifar10", "emnist:/x", "noise"])
def test_parse_dataset_rejects(text):
    with pytest.raises(ValueError, match="fashion-mnist\\[:PATH\\] \\| mnist:PATH"):
        parse_dataset(text)
    assert not is_real_dataset(text)
    assert DATASETS == "digits | cifar10:PATH | cifar100:PATH | folder:PATH | fashion-mnist[:PATH] | mnist:PATH"


# ---------------------------------------------------------------- IDX files (MNIST, Fashion-MNIST)

def _write_idx(path: Path, values: np.ndarray, magic: int, gz: bool) -> Path:
    """``values`` (uint8) as an IDX file: big-endian magic and sizes, then the bytes; gzipped if ``gz``."""
    raw = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in values.shape) + values.tobytes()
    path = path.with_name(path.name + ".gz") if gz else path
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def _tiny_mnist(folder: Path, n_train: int = 100, n_test: int = 20) -> dict[str, np.ndarray]:
    """IDX files of 28x28 images whose pixels all equal the image's index (mod 256), labels i % 10:
    train gzipped, test plain."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n, gz in (("train", n_train, True), ("t10k", n_test, False)):
        x = np.broadcast_to((np.arange(n) % 256).astype(np.uint8)[:, None, None], (n, 28, 28)).copy()
        y = (np.arange(n) % 10).astype(np.uint8)
        _write_idx(folder / f"{split}-images-idx3-ubyte", x, IDX_IMAGES, gz)
        _write_idx(folder / f"{split}-labels-idx1-ubyte", y, IDX_LABELS, gz)
        arrays[split] = (x, y)
    return arrays


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist")
    return folder, _tiny_mnist(folder)


def test_idx_loads_gz_and_plain_files_at_one_channel(tiny_mnist):
    folder, arrays = tiny_mnist
    sets = {split: load_real(f"mnist:{folder}", split, size=28) for split in SPLITS}
    assert [len(s) for s in sets.values()] == [90, 10, 20]
    for s in sets.values():
        assert s.classes == [str(c) for c in range(10)] and s.channels == 1
        assert s.x.shape == (len(s), 1, 28, 28) and s.x.dtype == torch.float32 and s.y.dtype == torch.int64
    test_x, test_y = arrays["t10k"]
    assert torch.equal(sets["test"].x, torch.from_numpy(test_x[:, None]).float() / 255)   # t10k, in order
    assert sets["test"].y.tolist() == test_y.tolist()
    big = load_real(f"fashion-mnist:{folder}", "train")                  # default size 32, bilinear
    assert big.x.shape == (90, 1, 32, 32) and big.classes == FASHION_MNIST_CLASSES
    assert torch.allclose(big.x.amax((1, 2, 3)), big.x.amin((1, 2, 3)))  # a constant image stays constant
    assert torch.allclose(big.x[:, 0, 0, 0] * 255, big.x[:, 0, 0, 0].mul(255).round(), atol=1e-4)


def test_idx_val_split_is_fixed_stratified_and_disjoint(tiny_mnist, tmp_path):
    folder, _ = tiny_mnist
    train, val = (load_real(f"mnist:{folder}", split, size=28) for split in ("train", "val"))
    assert val.y.bincount(minlength=10).tolist() == [1] * 10 and train.y.bincount(minlength=10).tolist() == [9] * 10
    ids = {split: set((s.x[:, 0, 0, 0] * 255).round().long().tolist()) for split, s in (("train", train), ("val", val))}
    assert not ids["train"] & ids["val"] and ids["train"] | ids["val"] == set(range(100))
    _tiny_mnist(tmp_path)                               # the same files elsewhere, read afresh: the same split
    again = load_real(f"mnist:{tmp_path}", "val", size=28)
    assert torch.equal(again.x, val.x) and torch.equal(again.y, val.y)


def test_idx_truncated_and_malformed_files(tmp_path):
    values = np.zeros((30, 28, 28), np.uint8)
    plain = _write_idx(tmp_path / "images", values, IDX_IMAGES, gz=False)
    assert read_idx(plain, IDX_IMAGES).shape == (30, 28, 28)
    plain.write_bytes(plain.read_bytes()[:-100])
    with pytest.raises(ValueError, match=rf"IDX file {re.escape(str(plain))} is truncated: 23,436 bytes, "
                                         r"expected 23,536 \(16-byte header \+ 30 x 28 x 28 values\)"):
        read_idx(plain, IDX_IMAGES)
    zipped = _write_idx(tmp_path / "more", values, IDX_IMAGES, gz=True)
    data = gzip.decompress(zipped.read_bytes())
    zipped.write_bytes(gzip.compress(data[:-28]))       # a whole gzip stream of too few bytes
    with pytest.raises(ValueError, match=rf"{re.escape(str(zipped))} is truncated: 23,508 bytes decompressed, "
                                         r"expected 23,536"):
        read_idx(zipped, IDX_IMAGES)
    zipped.write_bytes(gzip.compress(data)[:-20])       # a cut gzip stream
    with pytest.raises(ValueError, match=rf"{re.escape(str(zipped))} is a truncated or corrupt gzip file"):
        read_idx(zipped, IDX_IMAGES)
    with pytest.raises(ValueError, match=r"magic number 0x803: expected 0x00000801"):
        read_idx(_write_idx(tmp_path / "labels", values, IDX_IMAGES, gz=False), IDX_LABELS)
    long = _write_idx(tmp_path / "long", np.zeros(5, np.uint8), IDX_LABELS, gz=False)
    long.write_bytes(long.read_bytes() + b"x")
    with pytest.raises(ValueError, match="too long: 14 bytes, expected 13"):
        read_idx(long, IDX_LABELS)
    with pytest.raises(ValueError, match="bad header"):
        read_idx(_write_idx(tmp_path / "empty", np.zeros((0, 28, 28), np.uint8), IDX_IMAGES, gz=False), IDX_IMAGES)


def test_idx_missing_files_and_folders(tmp_path, monkeypatch):
    _tiny_mnist(tmp_path / "m")
    os.remove(tmp_path / "m" / "t10k-labels-idx1-ubyte")
    with pytest.raises(ValueError, match="has no t10k-labels-idx1-ubyte\\(.gz\\)"):
        load_real(f"mnist:{tmp_path / 'm'}", "train")
    with pytest.raises(FileNotFoundError, match="mnist path /nowhere/mnist does not exist or is not a folder$"):
        load_real("mnist:/nowhere/mnist", "train")
    monkeypatch.setitem(DEFAULT_PATHS, "fashion-mnist", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match=r"absent does not exist.*install the Debian package "
                                                 r"dataset-fashion-mnist \(apt-get install dataset-fashion-mnist\)"
                                                 r".*or pass fashion-mnist:PATH"):
        load_real("fashion-mnist", "train")
    _tiny_mnist(tmp_path / "absent", n_train=100, n_test=5)
    assert len(load_real("fashion-mnist", "test")) == 5   # the default path, when it exists


def test_idx_too_few_images_for_the_val_split(tmp_path):
    _tiny_mnist(tmp_path, n_train=30, n_test=5)
    with pytest.raises(ValueError, match="too few train images per class"):
        load_real(f"mnist:{tmp_path}", "val")


FASHION_MNIST = Path(DEFAULT_PATHS["fashion-mnist"])


@pytest.mark.skipif(not FASHION_MNIST.is_dir(),
                    reason=f"{FASHION_MNIST} absent (apt-get install dataset-fashion-mnist)")
def test_installed_fashion_mnist():
    sets = {split: load_real("fashion-mnist", split) for split in SPLITS}
    assert [len(s) for s in sets.values()] == [54_000, 6_000, 10_000]
    for split, s in sets.items():
        assert s.x.shape == (len(s), 1, 32, 32) and s.channels == 1 and s.classes == FASHION_MNIST_CLASSES
        assert s.x.dtype == torch.float32 and 0 <= s.x.min() and s.x.max() <= 1
        assert s.y.bincount(minlength=10).tolist() == [len(s) // 10] * 10   # balanced: 6,000 / 600 / 1,000
    assert data_module._idx("fashion-mnist", str(FASHION_MNIST.resolve())).x.shape == (70_000, 1, 28, 28)


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


def test_decode_shards_keeps_every_image_in_shard_order(npy_shards, tmp_path):
    from unnatural.distill.data import decode_shards, load_image_array
    from unnatural.distill.kd import image_source

    shards = sorted(str(p) for p in npy_shards.glob("*.tar"))
    path = decode_shards(str(npy_shards), tmp_path / "set.npy", progress=False)
    images = load_image_array(path)
    assert images.dtype == torch.uint8 and images.shape == (64, 3, 16, 16)
    ordered = [_digest(s["npy"]) for s in wds.WebDataset(shards, shardshuffle=False, empty_check=False).decode("rgb8")]
    assert [_digest(img.permute(1, 2, 0).numpy()) for img in images] == ordered
    assert [p.name for p in tmp_path.iterdir()] == ["set.npy"]          # no temporary left behind
    # image_source reads the array: seeded permutations, every image once per pass
    first = image_source(str(path), 16, seed=3)()
    batches = [next(first) for _ in range(4)]
    again = image_source(str(path), 16, seed=3)()
    assert all(torch.equal(b, next(again)) for b in batches)
    assert Counter(_digest(i.permute(1, 2, 0).numpy()) for b in batches for i in b) == Counter(ordered)


def test_image_array_errors_name_the_file(tmp_path):
    from unnatural.distill.data import load_image_array
    from unnatural.distill.kd import image_source

    with pytest.raises(FileNotFoundError, match="missing.npy"):
        load_image_array(tmp_path / "missing.npy")
    np.save(tmp_path / "floats.npy", np.zeros((4, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"floats\.npy.*float32.*expected uint8"):
        load_image_array(tmp_path / "floats.npy")
    (tmp_path / "text.npy").write_text("not an array")
    with pytest.raises(ValueError, match="not a numpy array file"):
        load_image_array(tmp_path / "text.npy")
    np.save(tmp_path / "few.npy", np.zeros((4, 3, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"holds 4 images: allowed at least one batch \(16\)"):
        image_source(str(tmp_path / "few.npy"), 16)
