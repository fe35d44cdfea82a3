"""Data for distillation: real labelled sets (teachers, evaluation) and the shader-image stream (KD).

Real sets (:func:`load_real`) live in memory as float32 tensors in [0, 1]; their train/val/test
splits are fixed (stratified, ``random_state=0``) so every run and every seed sees the same
split. Sources:

* ``digits``: scikit-learn's bundled ``load_digits()`` (1,797 real 8x8 grey scans, values 0..16).
* ``cifar10:PATH`` / ``cifar100:PATH``: the python pickle release of
  https://www.cs.toronto.edu/~kriz/cifar.html (``cifar-10-batches-py`` / ``cifar-100-python``).
* ``folder:PATH``: an image folder ``PATH/<class>/*.png|jpg|jpeg|webp``.
* ``fashion-mnist[:PATH]`` / ``mnist:PATH``: the IDX files of Fashion-MNIST (Xiao et al. 2017,
  arXiv:1708.07747, https://github.com/zalandoresearch/fashion-mnist; default PATH: Debian's
  package ``dataset-fashion-mnist``) or of MNIST (LeCun et al. 1998,
  http://yann.lecun.com/exdb/mnist/), 28x28 grey, loaded with one channel.

Shader images (:func:`shader_loader`) stream from this project's WebDataset shards, local or
served by ``unnatural serve``, as uint8 batches; the teacher supplies the labels.
"""
from __future__ import annotations

import functools
import glob
import gzip
import math
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import webdataset as wds
from braceexpand import braceexpand
from PIL import Image
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from .datasets import DEFAULT_PATHS, parse_dataset
from .remote import server_urls

SPLITS = ("train", "val", "test")
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
FOLDER_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
SHARD_IMAGE_FIELDS = ("npy", "png", "jpg", "jpeg", "webp")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot"]
FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"   # Debian's IDX files, DEFAULT_PATHS["fashion-mnist"]
# split -> (images, labels) IDX file names, each read as NAME.gz or NAME; IDX magic numbers (type 0x08 = ubyte)
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IDX_IMAGES, IDX_LABELS = 0x00000803, 0x00000801
IDX_KINDS = ("fashion-mnist", "mnist")


@dataclass
class LabelledSet:
    """One split of a real labelled dataset, in memory.

    Attributes:
        x: ``(N, C, H, W)`` float32 images in [0, 1]: C = 3 (RGB) for digits, CIFAR and folders,
            C = 1 (grey) for Fashion-MNIST and MNIST.
        y: ``(N,)`` int64 class indices into ``classes``.
        classes: class names, index = label.
    """

    x: torch.Tensor
    y: torch.Tensor
    classes: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def channels(self) -> int:
        """C of ``x``: 1 (grey) or 3 (RGB)."""
        return self.x.shape[1]

    def __len__(self) -> int:
        return len(self.y)

    def loader(self, batch_size: int, shuffle: bool, seed: int = 0, drop_last: bool = False) -> DataLoader:
        """An in-process loader (``num_workers=0``) of ``(x, y)`` batches: ``(B, C, H, W)`` float32, ``(B,)`` int64.

        ``seed`` fixes the shuffle order of the first epoch (later epochs continue the same generator).
        """
        return DataLoader(TensorDataset(self.x, self.y), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                          generator=torch.Generator().manual_seed(seed), num_workers=0)


@dataclass(frozen=True)
class _Raw:
    """A whole dataset before splitting: ``x`` (N, C, h, w) uint8 or float32 in [0, 1], ``y`` (N,) int64,
    and the index arrays of each split into them."""

    x: np.ndarray
    y: np.ndarray
    classes: list[str]
    splits: dict[str, np.ndarray]


def load_real(dataset: str, split: str, size: int = 32) -> LabelledSet:
    """Load one split of a real labelled dataset at ``size`` x ``size``.

    Args:
        dataset: ``"digits"``, ``"cifar10:PATH"``, ``"cifar100:PATH"``, ``"folder:PATH"``,
            ``"fashion-mnist[:PATH]"`` or ``"mnist:PATH"`` (grammar: :mod:`unnatural.distill.datasets`).

            * digits: 60/20/20 stratified train/val/test of scikit-learn's ``load_digits()``;
              8x8 grey upsampled bilinearly (``align_corners=False``) and repeated to 3 channels;
              classes ``"0"``..``"9"``.
            * cifar10/cifar100: PATH is ``cifar-10-batches-py`` / ``cifar-100-python`` or the
              folder holding it. train = ``data_batch_1..5`` (``train``) less val, val = a
              stratified 10% of them, test = ``test_batch`` (``test``); cifar100 uses the 100
              fine labels. The files are pickles: load only a download you trust.
            * folder: ``PATH/<class>/*.png|jpg|jpeg|webp`` (classes = sorted subfolder names,
              hidden ones skipped), split 70/15/15 stratified. If PATH holds exactly the
              subfolders ``train``, ``val`` and ``test``, each is such a class folder and is
              used as that split as it is (classes from ``train``).
            * fashion-mnist/mnist: PATH holds the four IDX files (:func:`read_idx`)
              ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
              ``t10k-labels-idx1-ubyte``, each gzipped (``NAME.gz``, tried first) or not. train =
              the train files less val (54,000 of 60,000), val = a stratified 10% of them (6,000),
              test = the t10k files (10,000). One channel: ``x`` is ``(N, 1, size, size)``; 28x28 is
              resized bilinearly like every other set (for LeNet-5 at 32, as DAFL's code does with
              ``Resize((32, 32))``, rather than zero-padded to 32 as in LeCun et al. 1998), so every
              kind follows one rule. Fashion-MNIST PATH defaults to
              ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``); classes are
              :data:`FASHION_MNIST_CLASSES`, MNIST's ``"0"``..``"9"``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        size: output height and width in pixels (resized bilinearly, antialiased when shrinking).

    Returns:
        The split: ``x`` ``(N, C, size, size)`` float32 in [0, 1] (C = 1 for fashion-mnist and
        mnist, 3 otherwise), ``y`` ``(N,)`` int64.

    Raw arrays are cached per (dataset, path) in this process (folder images per size too), so
    loading the three splits reads the files once.

    Raises:
        ValueError: an unknown dataset or split, a bad size, missing, truncated or malformed
            files, or an empty folder.
        FileNotFoundError: PATH does not exist (for the default Fashion-MNIST folder the message
            says to install ``dataset-fashion-mnist`` or pass ``fashion-mnist:PATH``).
    """
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not allowed: expected one of {', '.join(SPLITS)}")
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size {size!r} is not allowed: expected a positive integer")
    ref = parse_dataset(dataset)
    kind, path = ref.kind, ref.location
    if kind == "digits":
        raw = _digits()
    else:
        root = Path(path).expanduser().resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"{kind} path {path} does not exist or is not a folder"
                                    f"{_install_hint(kind) if not ref.path else ''}")
        raw = (_folder(str(root), size) if kind == "folder" else _idx(kind, str(root)) if kind in IDX_KINDS
               else _cifar(kind, str(root)))
    index = raw.splits[split]
    x = torch.from_numpy(raw.x[index])
    x = x.float() / 255 if x.dtype == torch.uint8 else x
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=x.shape[-1] > size)
    return LabelledSet(x=x, y=torch.from_numpy(raw.y[index]), classes=list(raw.classes))


def _stratified(y: np.ndarray, fractions: tuple[float, float, float], what: str) -> dict[str, np.ndarray]:
    """Fixed stratified train/val/test index arrays (sorted) with the given fractions of ``y``."""
    train_f, val_f, test_f = fractions
    index = np.arange(len(y))
    try:
        train, rest = train_test_split(index, test_size=val_f + test_f, stratify=y, random_state=0)
        val, test = train_test_split(rest, test_size=test_f / (val_f + test_f), stratify=y[rest], random_state=0)
    except ValueError as exn:
        raise ValueError(f"{what}: too few images per class for a stratified "
                         f"{train_f:.0%}/{val_f:.0%}/{test_f:.0%} split ({exn})") from exn
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


@functools.lru_cache(maxsize=None)
def _digits() -> _Raw:
    from sklearn.datasets import load_digits

    digits = load_digits()
    grey = digits.images.astype(np.float32) / 16.0
    x = np.repeat(grey[:, None], 3, axis=1)
    y = digits.target.astype(np.int64)
    return _Raw(x, y, [str(c) for c in range(10)], _stratified(y, (0.6, 0.2, 0.2), "digits"))


def _unpickle(path: Path) -> dict:
    """A CIFAR pickle (written by Python 2: byte-string keys) as a dict with str keys."""
    with open(path, "rb") as f:
        data = pickle.load(f, encoding="bytes")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def _names(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


@functools.lru_cache(maxsize=None)
def _cifar(kind: str, path: str) -> _Raw:
    folder_name, train_files, test_file, meta_file, label_key, names_key = {
        "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch",
                    "batches.meta", "labels", "label_names"),
        "cifar100": ("cifar-100-python", ["train"], "test", "meta", "fine_labels", "fine_label_names"),
    }[kind]
    root = Path(path)
    if (root / folder_name).is_dir():
        root = root / folder_name
    for name in [*train_files, test_file, meta_file]:
        if not (root / name).is_file():
            raise ValueError(f"{kind} path {path} has no {name}: expected the {folder_name} folder "
                             f"(or its parent) of the python version from {CIFAR_URL}")
    parts = [_unpickle(root / name) for name in [*train_files, test_file]]
    x = np.concatenate([np.asarray(p["data"], dtype=np.uint8) for p in parts]).reshape(-1, 3, 32, 32)
    y = np.concatenate([np.asarray(p[label_key], dtype=np.int64) for p in parts])
    n_train = len(y) - len(parts[-1][label_key])
    train, val = train_test_split(np.arange(n_train), test_size=0.1, stratify=y[:n_train], random_state=0)
    splits = {"train": np.sort(train), "val": np.sort(val), "test": np.arange(n_train, len(y))}
    return _Raw(x, y, _names(_unpickle(root / meta_file)[names_key]), splits)


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Read an IDX file (the MNIST format, http://yann.lecun.com/exdb/mnist/) of unsigned bytes.

    The file is gzipped or not, told by its first bytes (``1f 8b``), whatever its name. Layout
    after decompression: a big-endian int32 magic ``0x0000 08 D`` (0x08 = ubyte, D = number of
    dimensions), D big-endian int32 sizes, then the values, row-major.

    Args:
        path: the file.
        magic: the expected magic number: :data:`IDX_IMAGES` (0x803, ``(N, rows, cols)``) or
            :data:`IDX_LABELS` (0x801, ``(N,)``).

    Returns:
        A uint8 array of the header's shape.

    Raises:
        ValueError: a corrupt or truncated gzip stream, another magic number, a zero size, or a
            length that differs from the header's (the message names the file and both sizes).
    """
    with open(path, "rb") as f:
        data = f.read()
    zipped = data[:2] == b"\x1f\x8b"
    if zipped:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exn:
            raise ValueError(f"IDX file {path} is a truncated or corrupt gzip file ({exn})") from None
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    found = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if found != magic:
        raise ValueError(f"IDX file {path} has magic number {'none' if found is None else hex(found)}: "
                         f"expected {magic:#010x} (unsigned bytes, {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(data[4:header], dtype=">i4"))
    if len(shape) != ndim or min(shape) < 1:
        raise ValueError(f"IDX file {path} has a bad header: sizes {shape}, expected {ndim} positive sizes")
    expected = header + math.prod(shape)
    if len(data) != expected:
        raise ValueError(f"IDX file {path} is {'truncated' if len(data) < expected else 'too long'}: "
                         f"{len(data):,} bytes{' decompressed' if zipped else ''}, expected {expected:,} "
                         f"({header}-byte header + {' x '.join(map(str, shape))} values)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _idx_file(kind: str, root: Path, name: str) -> Path:
    for file in (root / f"{name}.gz", root / name):
        if file.is_file():
            return file
    raise ValueError(f"{kind} path {root} has no {name}(.gz): expected the four IDX files "
                     f"{', '.join(n for pair in IDX_FILES.values() for n in pair)} (gzipped or not)"
                     f"{_install_hint(kind)}")


def _install_hint(kind: str) -> str:
    """How to get a kind's default folder (``""`` for kinds without one)."""
    if kind not in DEFAULT_PATHS:
        return ""
    return (f": install the Debian package {FASHION_MNIST_PACKAGE} (apt-get install {FASHION_MNIST_PACKAGE}), "
            f"which puts the files in {DEFAULT_PATHS[kind]}, or pass {kind}:PATH")


@functools.lru_cache(maxsize=None)
def _idx(kind: str, path: str) -> _Raw:
    root = Path(path)
    parts = []
    for split, (images_name, labels_name) in IDX_FILES.items():
        images_file, labels_file = _idx_file(kind, root, images_name), _idx_file(kind, root, labels_name)
        images, labels = read_idx(images_file, IDX_IMAGES), read_idx(labels_file, IDX_LABELS)
        if len(images) != len(labels) or labels.max() > 9:
            raise ValueError(f"{kind} {split} files {images_file} ({len(images)} images) and {labels_file} "
                             f"({len(labels)} labels, largest {labels.max()}): expected one label 0..9 per image")
        parts.append((images, labels))
    shapes = {images.shape[1:] for images, _ in parts}
    if len(shapes) != 1:
        raise ValueError(f"{kind} path {root}: train and t10k images differ in size ({sorted(shapes)})")
    x = np.concatenate([images for images, _ in parts])[:, None]
    y = np.concatenate([labels for _, labels in parts]).astype(np.int64)
    n_train = len(parts[0][1])
    try:
        train, val = train_test_split(np.arange(n_train), test_size=0.1, stratify=y[:n_train], random_state=0)
    except ValueError as exn:
        raise ValueError(f"{kind} path {root}: too few train images per class for a stratified 10% val "
                         f"split ({exn})") from exn
    splits = {"train": np.sort(train), "val": np.sort(val), "test": np.arange(n_train, len(y))}
    classes = FASHION_MNIST_CLASSES if kind == "fashion-mnist" else [str(c) for c in range(10)]
    return _Raw(x, y, list(classes), splits)


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_images(root: Path, classes: list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Every image of ``root/<class>/`` for the given classes: (N, 3, size, size) uint8, (N,) int64."""
    images, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted((root / name).glob("*")) if (root / name).is_dir() else []:
            if file.suffix.lower() in FOLDER_EXTENSIONS:
                with Image.open(file) as img:
                    rgb = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
                images.append(np.asarray(rgb).transpose(2, 0, 1))
                labels.append(label)
    if not images:
        raise ValueError(f"folder {root} has no images: expected {root}/<class>/*"
                         f"{{{','.join(FOLDER_EXTENSIONS)}}}")
    return np.stack(images), np.asarray(labels, dtype=np.int64)


@functools.lru_cache(maxsize=None)
def _folder(path: str, size: int) -> _Raw:
    root = Path(path)
    subfolders = _class_folders(root)
    if {p.name for p in subfolders} == set(SPLITS):
        classes = [p.name for p in _class_folders(root / "train")]
        for split in ("val", "test"):
            unknown = sorted({p.name for p in _class_folders(root / split)} - set(classes))
            if unknown:
                raise ValueError(f"folder {root / split} has classes {unknown} that {root / 'train'} lacks")
        parts = [_read_images(root / split, classes, size) for split in SPLITS]
        bounds = np.cumsum([0] + [len(y) for _, y in parts])
        splits = {split: np.arange(bounds[i], bounds[i + 1]) for i, split in enumerate(SPLITS)}
        return _Raw(np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]), classes, splits)
    if not subfolders:
        raise ValueError(f"folder {root} has no class subfolders: expected {root}/<class>/*.png")
    classes = [p.name for p in subfolders]
    x, y = _read_images(root, classes, size)
    return _Raw(x, y, classes, _stratified(y, (0.7, 0.15, 0.15), f"folder {root}"))


def shard_urls(urls: str | list[str], token: str | None = None) -> list[str]:
    """Resolve shard sources to the URL list that ``webdataset.WebDataset`` reads.

    Each element of ``urls`` is brace-expanded, then: an ``http(s)://`` URL goes through
    :func:`unnatural.distill.remote.server_urls` (a ``pipe:`` URL when a token is set); a directory
    stands for its ``*.tar`` files (sorted); a glob pattern for its sorted matches; anything else
    must be an existing file.

    Raises:
        ValueError: a pattern, directory or file that yields no shard (the message names it).
    """
    result = []
    for pattern in [urls] if isinstance(urls, str) else list(urls):
        if pattern.startswith(("http://", "https://")):
            result += server_urls(pattern, token)
            continue
        for item in braceexpand(pattern):
            path = os.path.expanduser(item)
            found = (sorted(glob.glob(os.path.join(path, "*.tar"))) if os.path.isdir(path)
                     else sorted(glob.glob(path)) if any(c in path for c in "*?[")
                     else [path] if os.path.isfile(path) else [])
            if not found:
                raise ValueError(f"no shard matches {item!r} (from {pattern!r}): expected .tar files, "
                                 "a brace pattern like /data/d-{000000..000009}.tar, a folder of .tar "
                                 "files, or the server's http(s) URLs")
            result += found
    if not result:
        raise ValueError(f"no shards given in {urls!r}")
    return result


def _image_tensor(sample: dict) -> torch.Tensor:
    """The decoded image field of a shard sample as a ``(3, H, W)`` uint8 tensor."""
    for field in SHARD_IMAGE_FIELDS:
        if field in sample:
            image = sample[field]
            if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
                    and image.shape[2] == 3):
                raise ValueError(f"sample {sample['__key__']} of {sample.get('__url__')}: {field} is not an "
                                 "HxWx3 uint8 image")
            return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    raise ValueError(f"sample {sample['__key__']} of {sample.get('__url__')} has no image field: "
                     f"expected one of {', '.join(SHARD_IMAGE_FIELDS)}, got {sorted(sample)}")


def shader_loader(urls: str | list[str], batch_size: int, *, resampled: bool = False, shard_shuffle: int = 100,
                  shuffle_buffer: int = 1000, num_workers: int = 2, seed: int = 0, epoch_samples: int | None = None,
                  token: str | None = None) -> DataLoader:
    """Stream shader images from WebDataset shards as uint8 batches (labels come from the teacher).

    Args:
        urls: a local brace pattern, glob or file list (``/data/d-{000000..000009}.tar``), a folder
            of ``*.tar`` shards (all, sorted), or the server's http(s) (brace) URLs; see
            :func:`shard_urls`.
        batch_size: images per batch, batched inside the workers (one IPC message per batch).
        resampled: draw shards with replacement, endlessly (bound the epoch with ``epoch_samples``).
            Otherwise each epoch reads every shard once: shards are split across nodes
            (``split_by_node``) and then workers, and every sample comes exactly once.
        shard_shuffle: shard shuffle buffer of each worker (0: keep the sorted order). Not resampled only.
        shuffle_buffer: sample shuffle buffer of each worker (0: no sample shuffle).
        num_workers: DataLoader worker processes; not resampled, clamped to this node's shard
            count (a worker without shards would only idle). 0 reads in this process.
        seed: seed of the shard shuffle. webdataset 1.0.2 uses it for nothing else: the same
            shard order repeats every epoch, while the sample shuffle buffer and the resampled
            shard draws are seeded from pid/time/urandom (not reproducible).
        epoch_samples: with ``resampled``, end each epoch after about this many images: each of
            the W workers (W = 1 for ``num_workers=0``) yields ``ceil(epoch_samples / (W * batch_size))``
            full batches (``.with_epoch`` counts the pipeline's items, here batches), so an epoch
            holds ``epoch_samples`` rounded up to a multiple of ``W * batch_size`` images.
        token: the server's bearer token for http(s) URLs (see :func:`unnatural.distill.remote.server_urls`).

    Returns:
        A DataLoader (``batch_size=None``) yielding ``(B, 3, H, W)`` uint8 tensors, B <= batch_size
        (the last batch of each worker may be short when not resampled), H and W as rendered.
        Convert on the device: ``x.to(device).float() / 255``.

    Raises:
        ValueError: no shard matches, a bad batch size, buffer, worker count or epoch_samples.
    """
    for name, value, low in (("batch_size", batch_size, 1), ("shard_shuffle", shard_shuffle, 0),
                             ("shuffle_buffer", shuffle_buffer, 0), ("num_workers", num_workers, 0)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{name} {value!r} is not allowed: expected an integer >= {low}")
    if epoch_samples is not None and (not resampled or not isinstance(epoch_samples, int) or epoch_samples < 1):
        raise ValueError(f"epoch_samples {epoch_samples!r} is not allowed: expected None, or a positive integer "
                         "with resampled=True (a plain epoch reads every shard once)")
    shards = shard_urls(urls, token)
    if not resampled:
        rank, world_size, _, _ = wds.utils.pytorch_worker_info()
        num_workers = min(num_workers, len(shards[rank::world_size]))
    ds = (wds.WebDataset(shards, resampled=resampled, shardshuffle=False if resampled else shard_shuffle or False,
                         nodesplitter=wds.split_by_node, workersplitter=wds.split_by_worker, seed=seed,
                         empty_check=False)
          .shuffle(shuffle_buffer)
          .decode("rgb8", only=SHARD_IMAGE_FIELDS)
          .map(_image_tensor)
          .batched(batch_size, collation_fn=torch.stack))
    if epoch_samples is not None:
        ds = ds.with_epoch(math.ceil(epoch_samples / (max(num_workers, 1) * batch_size)))
    return DataLoader(ds, batch_size=None, num_workers=num_workers, persistent_workers=False)


def decode_shards(urls: str | list[str], path: str | os.PathLike, progress: bool = True) -> Path:
    """Decode a finite shard set once into one ``.npy`` file of uint8 images ``(N, 3, H, W)``,
    in shard order, every sample once (webdataset reader, no shuffle).

    Training on a fixed set for many epochs then reads memory instead of decoding PNGs again on
    every pass: a KD step on 32 px LeNets costs less than decoding its batch, so several
    students of one set (seeds, rows of a benchmark) run about twice as fast from the array
    (docs/RESULTS.md). :func:`unnatural.distill.kd.image_source` reads the file (``data`` ending in
    ``.npy``). The file is written under a temporary name and renamed when complete.

    Raises:
        ValueError: no shard matches ``urls``, a sample without an image, or images of
            different sizes.
    """
    from tqdm import tqdm

    from unnatural.generator.files import atomic_open

    batches = []
    loader = shader_loader(urls, 256, shard_shuffle=0, shuffle_buffer=0, num_workers=0)
    for batch in tqdm(loader, desc="decode shards", unit="batch", disable=not progress, dynamic_ncols=True):
        if batches and batch.shape[1:] != batches[0].shape[1:]:
            raise ValueError(f"{urls!r}: images of {tuple(batch.shape[2:])} and {tuple(batches[0].shape[2:])} "
                             "pixels: an array needs one size")
        batches.append(batch.numpy())
    path = Path(path)
    with atomic_open(path) as f:
        np.save(f, np.concatenate(batches))
    return path


def load_image_array(path: str | os.PathLike) -> torch.Tensor:
    """An ``.npy`` file of uint8 images ``(N, C, H, W)`` (C = 1 or 3), e.g. from
    :func:`decode_shards`, as a tensor.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an uint8 array of that shape.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image array {str(path)!r} does not exist")
    try:
        images = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{str(path)!r} is not a numpy array file: {exc}") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"{str(path)!r} holds a {images.dtype} array of shape {images.shape}: expected uint8 "
                         "images (N, C, H, W) with N >= 1 and C = 1 or 3")
    return torch.from_numpy(images)
