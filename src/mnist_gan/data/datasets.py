"""A dataset as a value: its images and labels, its name, content hash, class names and split.

:func:`load_dataset` is the one entry for training and scoring data. Without a path it is MNIST
(:func:`mnist_gan.data.sources.load_mnist`: caches, download, offline mirror). With one it reads

* a folder of image files, one subfolder per class (Keras's ``image_dataset_from_directory``
  layout; class names from the folder names, in sorted order), or without subfolders
  (unlabelled): :mod:`mnist_gan.data.imagefiles`;
* a folder holding the four IDX files (``train-images-idx3-ubyte[.gz]``, ...);
* a Keras-layout ``.npz`` (``x_train``, optional ``y_train``, ``x_test``, ``y_test`` and
  ``class_names``);
* an ``.npy`` of images, with an optional ``.npy`` of labels (``labels_path``).

Images of another size or in colour become 28x28 grayscale (:func:`to_gray28`), with one note
each. Class names come from the folders, a ``class_names`` array in the ``.npz``, a
``classes.txt`` beside the data (one name per line), a dataset recognised by its content
(MNIST, Fashion-MNIST), or else are the label numbers. Without a test split, a fixed 10 % of
each class is held out (:func:`hold_out`). docs/data.md describes all of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_gan.config import GANConfig
from mnist_gan.data.imagefiles import read_image_folder, to_gray28
from mnist_gan.errors import MNISTGANError

log = logging.getLogger("mnist_gan")

HOLD_OUT = 0.1  # share of each class held out as the test split when none is given
HOLD_OUT_SEED = 0
DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
# Datasets recognised by content (:func:`content_hash`): their class names where the files
# carry none.
MNIST_SHA256 = "4b6ae755bf18f2a8bdc5c2bc2130c405b934376558de2dc0d0c2f0f1adc0b7d3"
FASHION_MNIST_SHA256 = "74ff27ec23b0ac7df902539e05a6c0c70b4ac81ab4fa459f02a829895c010274"
KNOWN_CLASSES = {MNIST_SHA256: DIGITS, FASHION_MNIST_SHA256: FASHION_CLASSES}
CLASS_FILE = "classes.txt"


@dataclass(frozen=True)
class ImageDataset:
    """Training and test images (uint8 ``(N, 28, 28)``), their labels (int32, or None when
    unlabelled), and what the data is: ``name`` (the file or folder name; "MNIST" for the
    default), ``sha256`` (:func:`content_hash`), ``class_names``, ``source`` (where it was read
    from), ``split`` (how the test split was made) and ``notes`` (conversions, skipped files)."""

    name: str
    sha256: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray | None
    source: str
    split: str = "given"
    notes: tuple[str, ...] = ()

    @property
    def labelled(self) -> bool:
        """Whether every image has a class."""
        return self.y_train is not None

    @property
    def classes_seen(self) -> int:
        """1 + the largest training label (0 when unlabelled)."""
        return int(self.y_train.max()) + 1 if self.labelled and len(self.y_train) else 0

    @property
    def num_classes(self) -> int:
        """How many classes the labels name (0 when unlabelled)."""
        return len(self.class_names) if self.labelled else 0

    @property
    def is_mnist(self) -> bool:
        """Whether this is MNIST itself (by content), whose classes are digits."""
        return self.sha256 == MNIST_SHA256

    @property
    def title(self) -> str:
        """The name with the start of the hash: ``fashion-mnist (0a1b2c3d)``."""
        return f"{self.name} ({self.sha256[:8]})"

    def describe(self) -> str:
        """One line for the console: name, hash, counts, classes and split."""
        classes = (
            f"{self.num_classes} classes ({_shorten(self.class_names)})"
            if self.labelled
            else "no labels"
        )
        held = "" if self.split == "given" else f" ({self.split})"
        return (
            f"Data: {self.title}: {len(self.x_train):,} training and {len(self.x_test):,} test "
            f"images{held}, {classes}; from {self.source}"
        )

    def card(self) -> dict[str, Any]:
        """What a run, a model or a preset records of the data it was trained on."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "classes": list(self.class_names) if self.labelled else [],
            "train_images": int(len(self.x_train)),
            "test_images": int(len(self.x_test)),
            "split": self.split,
            "source": self.source,
        }


def mnist_card() -> dict[str, Any]:
    """The card of MNIST (what models saved before cards existed were trained on)."""
    return {"name": "MNIST", "sha256": MNIST_SHA256, "classes": list(DIGITS)}


def _shorten(names: tuple[str, ...], shown: int = 10) -> str:
    text = ", ".join(names[:shown])
    return text + (f", ... {len(names) - shown} more" if len(names) > shown else "")


def content_hash(x_train: np.ndarray, y_train: Any, x_test: np.ndarray, y_test: Any) -> str:
    """sha256 of the four arrays' shapes, dtypes and bytes (labels as int32; None for none)."""
    digest = hashlib.sha256()
    for array in (x_train, y_train, x_test, y_test):
        if array is None:
            digest.update(b"none;")
            continue
        array = np.ascontiguousarray(array if array.dtype == np.uint8 else array.astype(np.int32))
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def load_dataset(
    path: str | os.PathLike[str] | None = None, labels_path: str | os.PathLike[str] | None = None
) -> ImageDataset:
    """The dataset at ``path`` (or ``$MNIST_GAN_DATA``; MNIST when neither is set).

    Raises :class:`MNISTGANError` naming the problem for anything unusable: a missing path,
    an empty folder or a class folder without images, a file that is not a dataset, labels of
    the wrong length or not integers, images of an unusable shape.
    """
    path = path or os.environ.get("MNIST_GAN_DATA") or None
    if path is None:
        from mnist_gan.data.sources import load_mnist

        if labels_path is not None:
            raise MNISTGANError("--data-labels goes with an --data .npy of images")
        (x, y), (xt, yt) = load_mnist()
        return _dataset("MNIST", "MNIST (cache, download or offline mirror)", x, y, xt, yt)
    path = Path(path)
    if not path.exists():
        raise MNISTGANError(f"data path {path} does not exist")
    if labels_path is not None and path.suffix != ".npy":
        raise MNISTGANError("--data-labels goes with an --data .npy of images")
    names: tuple[str, ...] = ()
    notes: list[str] = []
    if path.is_dir() and _idx_folder(path):
        from mnist_gan.data.sources import read_idx_arrays

        x, y, xt, yt = read_idx_arrays(path)
    elif path.is_dir():
        found = read_image_folder(path)
        x, y, xt, yt = found.images, found.labels, None, None
        names, notes = found.class_names, found.notes
    elif path.suffix == ".npz":
        from mnist_gan.data.sources import read_npz_arrays

        arrays = read_npz_arrays(path)
        x, y, xt, yt = (arrays.get(k) for k in ("x_train", "y_train", "x_test", "y_test"))
        names = tuple(str(n) for n in arrays.get("class_names", ()))
    elif path.suffix == ".npy":
        x, y, xt, yt = _read_npy(path), None, None, None
        if labels_path is not None:
            y = _read_npy(Path(labels_path), what="labels")
    else:
        raise MNISTGANError(
            f"{path} is not a dataset: give a folder (of class folders of images, of images, or "
            "of the four IDX files), a Keras-layout .npz, or an .npy of images"
        )
    names = names or _class_file(path)
    return _dataset(path.name, str(path), x, y, xt, yt, names, notes)


def from_arrays(
    x_train: Any, y_train: Any = None, name: str = "arrays", class_names: tuple[str, ...] = ()
) -> ImageDataset:
    """Training images (and labels) given in Python as a dataset, converted and checked like a
    file's. It has no test split: all images train (score such a run with ``--data``)."""
    x, notes = to_gray28(x_train, "training images")
    y = None if y_train is None else check_labels(y_train, len(x), "training labels")
    names: tuple[str, ...] = ()
    if y is not None:
        count = int(y.max()) + 1 if len(y) else 0
        names = tuple(class_names) or tuple(str(i) for i in range(count))
    empty = np.zeros((0, *x.shape[1:]), np.uint8)
    sha = content_hash(x, y, empty, None if y is None else np.zeros(0, np.int32))
    split = "none: arrays passed in Python, all of them train"
    return ImageDataset(name, sha, names, x, y, empty, None, "Python arrays", split, tuple(notes))


def _idx_folder(folder: Path) -> bool:
    return any(folder.glob("train-images*idx3-ubyte*"))


def _read_npy(path: Path, what: str = "images") -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, MemoryError) as err:
        raise MNISTGANError(f"{path} is not a readable .npy array of {what} ({err})") from None


def _class_file(path: Path) -> tuple[str, ...]:
    """Names from ``classes.txt`` in a data folder or beside a data file (none: ())."""
    candidate = (path if path.is_dir() else path.parent) / CLASS_FILE
    if not candidate.is_file():
        return ()
    names = tuple(line.strip() for line in candidate.read_text().splitlines() if line.strip())
    log.info("class names from %s", candidate)
    return names


def _dataset(
    name: str,
    source: str,
    x: Any,
    y: Any,
    xt: Any,
    yt: Any,
    names: tuple[str, ...] = (),
    notes: list[str] | None = None,
) -> ImageDataset:
    """Checked, converted, named and split arrays as an :class:`ImageDataset`."""
    notes = list(notes or [])
    if x is None:
        raise MNISTGANError(f"{source} has no training images (x_train)")
    x, converted = to_gray28(x, "training images")
    notes += converted
    y = None if y is None else check_labels(y, len(x), f"{source}: training labels")
    split = "given"
    if xt is None:
        if yt is not None:
            raise MNISTGANError(f"{source} has test labels but no test images")
        x, y, xt, yt = hold_out(x, y)
        split = f"no test split given: {HOLD_OUT:.0%} of each class held out, seed {HOLD_OUT_SEED}"
    else:
        xt, converted = to_gray28(xt, "test images")
        notes += [n for n in converted if n not in notes]
        if (y is None) != (yt is None):
            raise MNISTGANError(f"{source}: give labels for both splits or for neither")
        yt = None if yt is None else check_labels(yt, len(xt), f"{source}: test labels")
    sha = content_hash(x, y, xt, yt)
    if y is not None:
        count = int(max(y.max(), yt.max() if len(yt) else 0)) + 1
        names = names or KNOWN_CLASSES.get(sha, ()) or tuple(str(i) for i in range(count))
        if len(names) < count:
            raise MNISTGANError(
                f"{source}: labels go up to {count - 1} but {len(names)} class names are given"
            )
    else:
        names = ()
    return ImageDataset(name, sha, tuple(names), x, y, xt, yt, source, split, tuple(notes))


def check_labels(labels: Any, count: int, what: str) -> np.ndarray:
    """``labels`` as int32 ``(count,)``: integers >= 0, one per image; else one clear error."""
    values = np.asarray(labels)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or len(values) != count:
        raise MNISTGANError(f"{what}: {values.shape} values for {count} images; give one each")
    whole = values.dtype.kind == "f" and np.isfinite(values).all()
    if whole and np.all(values == np.rint(values)):  # 3.0 is a class number, 3.5 is not
        values = values.astype(np.int64)
    if values.dtype.kind not in "iu":
        raise MNISTGANError(f"{what} must be integers (class numbers from 0), got {values.dtype}")
    if len(values) and values.min() < 0:
        raise MNISTGANError(f"{what} must be >= 0, got {int(values.min())}")
    return values.astype(np.int32)


def hold_out(
    x: np.ndarray, y: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Split ``(x, y)`` into train and test: of each class (of all images when unlabelled)
    the images at the last 10 % of a shuffle seeded 0, at least one where the class has two,
    go to test; both keep the data's order. The same data always splits the same way."""
    groups = [np.arange(len(x))] if y is None else [np.flatnonzero(y == c) for c in np.unique(y)]
    rng = np.random.default_rng(HOLD_OUT_SEED)
    test = np.zeros(len(x), bool)
    for members in groups:
        count = int(round(HOLD_OUT * len(members))) or (1 if len(members) >= 2 else 0)
        test[rng.permutation(members)[len(members) - count :]] = True
    if not test.any():
        raise MNISTGANError(f"{len(x)} image(s) are too few to hold any out for scoring")
    train = ~test
    return x[train], None if y is None else y[train], x[test], None if y is None else y[test]


def config_for_data(config: GANConfig, data: ImageDataset, given: set[str]) -> GANConfig:
    """``config`` with a conditional preset's ``num_classes`` taken from ``data`` (unless it
    is in ``given``), checked against the data: :class:`MNISTGANError` when a conditional
    preset gets unlabelled data, fewer than 2 classes, or labels beyond ``num_classes``."""
    if not config.num_classes:
        return config
    preset = config.preset
    if not data.labelled:
        raise MNISTGANError(
            f"preset {preset!r} is conditional: it needs labelled data (class folders, labels in "
            f"the files, or --data-labels); {data.title} has none. sfast and the unconditional "
            "presets train on it"
        )
    classes = config.num_classes if "num_classes" in given else data.num_classes
    if classes < 2:
        raise MNISTGANError(
            f"preset {preset!r} is conditional: it needs at least 2 classes, {data.title} has "
            f"{classes}"
        )
    if data.classes_seen > classes:
        raise MNISTGANError(
            f"num_classes is {classes}, but {data.title} has labels up to {data.classes_seen - 1}"
        )
    return dataclasses.replace(config, num_classes=classes).validate()


def card_classes(card: dict[str, Any] | None, count: int) -> tuple[str, ...]:
    """The names of ``count`` classes as a data card records them; digits where it records none
    and there are 10 (models saved before cards), else the numbers; () for no classes."""
    names = tuple((card or {}).get("classes") or ())
    if len(names) == count:
        return names
    return DIGITS if count == len(DIGITS) else tuple(str(i) for i in range(count))


def class_indices(labels: Any, class_names: tuple[str, ...]) -> Any:
    """``labels`` (one class or a sequence) with every class name turned into its index
    (:func:`find_class`); numbers pass through."""
    if isinstance(labels, str):
        return find_class(labels, class_names)
    if isinstance(labels, list | tuple) and any(isinstance(v, str) for v in labels):
        return [find_class(v, class_names) for v in labels]
    return labels


def find_class(name_or_index: Any, class_names: tuple[str, ...] | list[str]) -> int:
    """The index of a class given by index (``7``, ``"7"``) or name (``"sneaker"``, ``"Ankle
    boot"``, ``"t-shirt"``): exact, then ignoring case and punctuation, then a unique prefix."""
    names = list(class_names)
    text = str(name_or_index).strip()
    if text in names:
        return names.index(text)
    if re.fullmatch(r"\d+", text) and int(text) < len(names):
        return int(text)

    def plain(value: str) -> str:
        return re.sub(r"[^0-9a-z]", "", value.lower())

    wanted = plain(text)
    exact = [i for i, n in enumerate(names) if plain(n) == wanted]
    prefix = [i for i, n in enumerate(names) if wanted and plain(n).startswith(wanted)]
    for matches in (exact, prefix):
        if len(matches) == 1:
            return matches[0]
    raise MNISTGANError(
        f"no class {text!r}: this model's classes are {_shorten(tuple(names), 47)} "
        f"(or their numbers 0-{len(names) - 1})"
    )
