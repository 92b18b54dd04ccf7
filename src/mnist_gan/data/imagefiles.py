"""A user's own images as uint8 28x28 grayscale arrays: folders of image files, and arrays of
another size or in colour.

* :func:`read_image_folder`: Keras's ``image_dataset_from_directory`` layout. A folder whose
  entries are subfolders is labelled, one class per subfolder, classes in sorted order (Keras's
  order), each class's images found in it and below it; a folder of image files is
  unlabelled. Files are decoded with Pillow in parallel threads; other sizes and colour are
  converted (:func:`to_gray28`).
* The result is cached (``$MNIST_GAN_CACHE``, default ``~/.cache/mnist_gan/datasets``) under a
  key made of every file's path, class and content hash, so a changed, added or removed file
  makes a new entry. Reading every file to hash it is most of a cached load, so a second index
  maps the files' paths, sizes, modification and change times and inodes to that key, as git's index
  does: when none of them changed, the bytes are not read again. As in git, a file modified
  less than :data:`RACY_SECONDS` before the index was written is not trusted by its times
  alone (a rewrite within the clock's resolution keeps them), and its folder is hashed again.

Nothing here imports TensorFlow, so the command line checks a folder before it loads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_gan.data.images import MNIST_SIDE
from mnist_gan.errors import MNISTGANError
from mnist_gan.files import atomic_write, write_text

log = logging.getLogger("mnist_gan")

# Keras's image_dataset_from_directory formats, plus the other common ones Pillow reads.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
CACHE_VERSION = 1
RACY_SECONDS = 2  # files this young when the stat index was written are hashed again
WORKERS = 8  # threads decoding files: Pillow releases the GIL while it decodes


@dataclass
class FolderImages:
    """What :func:`read_image_folder` found: images, labels (None: unlabelled), class names,
    the content key, and one note per kind of file that was converted or skipped."""

    images: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    key: str
    notes: list[str] = field(default_factory=list)


def cache_folder() -> Path:
    """Where converted folders are cached (``$MNIST_GAN_CACHE/datasets``)."""
    root = os.environ.get("MNIST_GAN_CACHE") or Path.home() / ".cache" / "mnist_gan"
    return Path(root) / "datasets"


def to_gray28(images: np.ndarray, what: str = "images") -> tuple[np.ndarray, list[str]]:
    """``images`` as uint8 ``(N, 28, 28)``, and a note for each conversion made.

    Accepts ``(N, H, W)``, ``(N, H, W, 1)``, ``(N, H, W, 3)`` or ``(N, H, W, 4)``; integer
    pixels 0..255, or floats in [0, 1] (scaled by 255) or in [0, 255]. Colour becomes
    luminance (ITU-R 601, as Pillow's "L"; alpha is dropped); other sizes are resized to 28x28
    with Pillow's Lanczos filter, without keeping the aspect ratio (as Keras resizes).
    """
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (3, 4)) or len(x) == 0:
        raise MNISTGANError(
            f"{what} must be shaped (N, H, W) or (N, H, W, 1/3/4) with N > 0, got {x.shape}"
        )
    notes = []
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise MNISTGANError(f"{what} contain NaN or infinite pixels")
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 255:
            raise MNISTGANError(f"{what}: float pixels must be in [0, 1] or [0, 255]")
        x = np.rint(x * 255 if high <= 1 else x)
    elif x.dtype.kind in "iub":
        if x.size and (x.min() < 0 or x.max() > 255):
            raise MNISTGANError(f"{what}: integer pixels must be in 0..255")
    else:
        raise MNISTGANError(f"{what} must hold numbers, got dtype {x.dtype}")
    x = x.astype(np.uint8)
    if x.ndim == 4:
        channels = x.shape[-1]
        rgb = x[..., :3].astype(np.float32)
        x = np.rint(rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)
        notes.append(f"converted {len(x):,} {channels}-channel {what} to grayscale")
    if x.shape[1:] != (MNIST_SIDE, MNIST_SIDE):
        from PIL import Image

        side = f"{x.shape[2]}x{x.shape[1]}"
        x = np.stack([np.asarray(_resized(Image.fromarray(image))) for image in x])
        notes.append(f"resized {len(x):,} {what} from {side} to {MNIST_SIDE}x{MNIST_SIDE}")
    return x, notes


def _resized(image):  # noqa: ANN001, ANN202 - a PIL image in and out
    from PIL import Image

    return image.resize((MNIST_SIDE, MNIST_SIDE), Image.Resampling.LANCZOS)


def list_image_folder(folder: Path) -> tuple[list[tuple[Path, int]], tuple[str, ...], list[str]]:
    """The image files of a dataset folder with their class index (-1: unlabelled), the class
    names, and notes on what was left out. Raises :class:`MNISTGANError` for a folder with
    no images, or a class folder with none."""
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    classes = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    notes: list[str] = []
    ignored = linked = 0
    files: list[tuple[Path, int]] = []
    if classes:
        top_files = [p for p in entries if p.is_file()]
        if top_files:
            notes.append(
                f"ignored {len(top_files):,} file(s) beside the class folders (a labelled "
                f"folder keeps its images in one subfolder per class), e.g. {top_files[0].name}"
            )
        for index, class_dir in enumerate(classes):
            found, skipped, links = _walk(class_dir)
            ignored += len(skipped)
            linked += links
            if not found:
                raise MNISTGANError(
                    f"class folder {class_dir} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                    "add some or remove it"
                )
            files += [(path, index) for path in found]
    else:
        found, skipped, linked = _walk(folder)
        ignored += len(skipped)
        files = [(path, -1) for path in found]
    if ignored:
        notes.append(f"ignored {ignored:,} file(s) that are not images by their name")
    if linked:
        notes.append(f"did not follow {linked:,} link(s) to folders (as Keras does not)")
    if not files:
        raise MNISTGANError(
            f"{folder} holds no images: put image files ({', '.join(IMAGE_SUFFIXES)}) in it, "
            "or one subfolder of them per class"
        )
    return files, tuple(p.name for p in classes), notes


def _walk(folder: Path) -> tuple[list[Path], list[Path], int]:
    """Image files under ``folder`` (sorted), other files, and links to folders not followed
    (os.walk does not follow them, so a link loop cannot trap it)."""
    images, others, links = [], [], 0
    for root, dirs, names in os.walk(folder):
        links += sum(1 for d in dirs if os.path.islink(os.path.join(root, d)))
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            (images if path.suffix.lower() in IMAGE_SUFFIXES else others).append(path)
    return images, others, links


def read_image_folder(folder: str | os.PathLike[str], use_cache: bool = True) -> FolderImages:
    """Every image under ``folder`` as uint8 28x28 grayscale, labelled by class folder.

    Unreadable or truncated image files are skipped and counted (the first is named in the
    note); a folder where no file decodes is an error. Uses and fills the cache.
    """
    folder = Path(folder)
    files, class_names, notes = list_image_folder(folder)
    skip = len(str(folder)) + 1  # each file by its path below the folder, and its class
    entries = [f"{str(path)[skip:]}\0{label}" for path, label in files]
    stat_key, newest = _stat_key(files, entries)
    if use_cache and stat_key is not None:
        key = _read_stat_index(stat_key, newest)
        cached = _read_cache(key) if key is not None else None
        if cached is not None:
            return cached
    with ThreadPoolExecutor(WORKERS) as pool:
        digests = list(pool.map(_digest, (path for path, _ in files)))
    listing = hashlib.sha256()
    for entry, digest in zip(entries, digests):
        listing.update(f"{entry}\0{digest}\n".encode())
    key = listing.hexdigest()
    cached = _read_cache(key) if use_cache else None
    if cached is not None:
        _write_stat_index(stat_key, key)
        return cached
    with ThreadPoolExecutor(WORKERS) as pool:
        decoded = list(pool.map(_decode, (path for path, _ in files)))
    kept = [i for i, image in enumerate(decoded) if not isinstance(image, str)]
    failed = [i for i, image in enumerate(decoded) if isinstance(image, str)]
    if not kept:
        raise MNISTGANError(f"no image under {folder} could be read ({decoded[0]})")
    if failed:
        first = files[failed[0]][0]
        notes.append(
            f"skipped {len(failed):,} unreadable image file(s), e.g. {first}: {decoded[failed[0]]}"
        )
    sizes = {decoded[i][1] for i in kept}
    colour = sum(decoded[i][2] for i in kept)
    if colour:
        notes.append(f"converted {colour:,} colour image(s) to grayscale")
    resized = sum(decoded[i][1] != (MNIST_SIDE, MNIST_SIDE) for i in kept)
    if resized:
        shown = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)[:3])
        notes.append(f"resized {resized:,} image(s) ({shown}) to {MNIST_SIDE}x{MNIST_SIDE}")
    images = np.stack([decoded[i][0] for i in kept])
    labels = np.array([files[i][1] for i in kept], np.int32) if class_names else None
    result = FolderImages(images, labels, class_names, key, notes)
    if use_cache:
        _write_cache(result)
        _write_stat_index(stat_key, key)
    return result


def _stat_key(files: list[tuple[Path, int]], entries: list[str]) -> tuple[str | None, int]:
    """A hash of every file's entry (path and class), size, modification and change times and
    inode, and the newest modification time among them (None, 0 when one cannot be stat'ed)."""
    listing, newest = hashlib.sha256(), 0
    try:
        for (path, _), entry in zip(files, entries):
            st = os.stat(path)
            newest = max(newest, st.st_mtime_ns)
            times = f"{st.st_mtime_ns}\0{st.st_ctime_ns}"
            listing.update(f"{entry}\0{st.st_size}\0{times}\0{st.st_ino}\n".encode())
    except OSError:
        return None, 0
    return listing.hexdigest(), newest


def _read_stat_index(stat_key: str, newest: int) -> str | None:
    """The content key the stat index gives these files, if it can be trusted."""
    try:
        entry = json.loads((cache_folder() / f"stat-{stat_key[:32]}.json").read_text())
        written, key = int(entry["written_ns"]), str(entry["key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return key if newest < written - RACY_SECONDS * 10**9 else None


def _write_stat_index(stat_key: str | None, key: str) -> None:
    if stat_key is None:
        return
    entry = {"key": key, "written_ns": time.time_ns()}
    try:
        write_text(cache_folder() / f"stat-{stat_key[:32]}.json", json.dumps(entry))
    except MNISTGANError as err:  # costs only the next load's speed
        log.warning("could not write the dataset cache's index: %s", err)


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:  # read later as unreadable; its error keys the cache entry
        return f"unreadable: {err.strerror or err}"


GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def _decode(path: Path) -> tuple[np.ndarray, tuple[int, int], bool] | str:
    """(uint8 28x28 pixels, the original (width, height), whether it was in colour), or why
    the file could not be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            size = image.size
            colour = False
            if image.mode not in GRAY_MODES:  # paletted or RGB files may still be gray
                rgb = np.asarray(image.convert("RGB"))
                colour = bool((rgb != rgb[..., :1]).any())
            gray = image.convert("L")
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as err:
        return str(err) or type(err).__name__
    if size != (MNIST_SIDE, MNIST_SIDE):
        gray = _resized(gray)
    return np.asarray(gray, np.uint8), size, colour


def _cache_path(key: str) -> Path:
    return cache_folder() / f"folder-{key[:32]}.npz"


def _read_cache(key: str) -> FolderImages | None:
    path = _cache_path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            meta = json.loads(str(saved["meta"]))
            if meta.get("version") != CACHE_VERSION or meta.get("key") != key:
                return None
            labels = saved["labels"] if meta["labelled"] else None
            return FolderImages(
                saved["images"], labels, tuple(meta["class_names"]), key, list(meta["notes"])
            )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        log.warning("ignoring an unreadable dataset cache %s (%s)", path, err)
        return None


def _write_cache(found: FolderImages) -> None:
    meta = {
        "version": CACHE_VERSION,
        "key": found.key,
        "labelled": found.labels is not None,
        "class_names": list(found.class_names),
        "notes": found.notes,
    }
    labels = found.labels if found.labels is not None else np.zeros(0, np.int32)
    try:
        with atomic_write(_cache_path(found.key)) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, images=found.images, labels=labels, meta=json.dumps(meta))
    except MNISTGANError as err:  # an unwritable cache only costs the next load's speed
        log.warning("could not cache the converted folder: %s", err)
