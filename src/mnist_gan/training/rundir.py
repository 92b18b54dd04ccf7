"""A run folder's bookkeeping: is it writable, which checkpoint a run resumes from, the record of
its data, ``sfast``'s cached cluster ids, and the summary line.

The trainer (:mod:`mnist_gan.training.trainer`) calls these; each works on a folder and
values, never on the trainer itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mnist_gan.config import NETWORK_SETTINGS, GANConfig, saved_settings
from mnist_gan.data import clusters
from mnist_gan.data.datasets import ImageDataset
from mnist_gan.data.pipeline import as_image_batch
from mnist_gan.errors import MNISTGANError
from mnist_gan.files import atomic_write
from mnist_gan.gan.checkpoint import list_checkpoints, read_checkpoint_header
from mnist_gan.reliability.divergence import all_finite

log = logging.getLogger("mnist_gan")

DATA_FILE = "data.json"  # which data the run trained on
CLUSTER_FILE = "clusters.npz"  # sfast: the cluster id of every training image


def check_run_inputs(config: GANConfig) -> None:
    """What a run needs besides its data, checked before any of its files is written: the
    tensorboard package when logging to it, an ``init_from`` source that exists."""
    if config.tensorboard:
        from mnist_gan.training.tensorboard import require_tensorboard

        require_tensorboard()
    if config.init_from:
        from mnist_gan.gan import shipped

        source = config.init_from
        if not Path(source).exists() and not shipped.is_shipped_name(source):
            raise MNISTGANError(f"--init-from: {shipped.missing_source_message(source)}")


def save_final_model(gan: Any, path: Path) -> None:
    """Write ``model.keras`` atomically; a clear :class:`MNISTGANError` instead when training
    diverged into non-finite weights (the last checkpoint is then the newest good state)."""
    if not all_finite(gan.weights):
        raise MNISTGANError(
            "training diverged: the weights are not finite; model.keras was not written "
            "(the last checkpoint is the newest good state). Try lower learning rates."
        )
    with atomic_write(path) as tmp:
        gan.save(tmp)


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and check a file can be written in it; a clear
    :class:`MNISTGANError` otherwise."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise MNISTGANError(
            f"output folder {folder} is not writable ({err.strerror or err}); "
            "choose another with --output-dir"
        ) from None


def compatible_checkpoint(folder: Path, config: GANConfig) -> Path | None:
    """The newest readable checkpoint in ``folder/checkpoints``, if its networks match
    ``config``'s (None when there is none; :class:`MNISTGANError` when they differ).

    An unreadable newer file (power loss, a full disk, a bad copy) is renamed aside to
    ``*.unreadable`` with a warning, never deleted, and the one before it is used.
    """
    for _, latest in reversed(list_checkpoints(folder / "checkpoints")):
        try:
            header = read_checkpoint_header(latest)
            break
        except MNISTGANError as err:
            aside = latest.with_name(latest.name + ".unreadable")
            latest.rename(aside)
            log.warning("%s; moved it to %s and resuming from the one before", err, aside)
    else:
        return None
    saved = saved_settings(header["meta"]["config"])
    mine = config.to_dict()
    for key in NETWORK_SETTINGS:
        if saved.get(key) != mine.get(key):
            raise MNISTGANError(
                f"{folder} holds a run with {key}={saved.get(key)!r}, but this run "
                f"asks for {key}={mine.get(key)!r}. Use another --output-dir (the existing "
                "run is left untouched)."
            )
    return latest


def data_record(dataset: ImageDataset, trained_on: int) -> dict[str, Any]:
    """What ``data.json`` records: the dataset's card, its notes and how many images trained."""
    return {**dataset.card(), "notes": list(dataset.notes), "trained_on_images": trained_on}


def training_split(data: ImageDataset, config: GANConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """The images (``config.limit`` applied) and labels a run trains on, after saying which data
    it is (one line, and one per conversion note); :class:`MNISTGANError` when they are fewer
    than one batch."""
    log.info(data.describe())
    for note in data.notes:
        log.info("Data: %s", note)
    images = as_image_batch(data.x_train, config.limit)[..., 0]
    labels = None if data.y_train is None else data.y_train[: len(images)]
    if len(images) < config.batch_size:
        raise MNISTGANError(
            f"{len(images)} training image(s) are fewer than one batch of {config.batch_size}; "
            "add images or lower --batch-size"
        )
    return images, labels


def cached_cluster_ids(
    images: np.ndarray, config: GANConfig, seed: int, folder: Path
) -> np.ndarray:
    """sfast: the int32 cluster id of each training image, from the images alone.

    The ids are cached in ``folder/clusters.npz`` with what they were made from (the images'
    digest, k, PCA dimensions, seed), so a resumed run trains on the very same ids. A cache made
    from the same images with other settings is re-clustered and its ids matched to the old ones
    (:func:`mnist_gan.data.clusters.match_ids`); a damaged one is rebuilt.
    """
    digest = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()
    key = {"k": config.clusters, "pca_dims": config.cluster_pca_dims, "seed": seed}
    cache = folder / CLUSTER_FILE
    old, made = None, {}
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as saved:
                made = json.loads(str(saved["made_from"]))
                if made.get("digest") == digest:
                    old = saved["ids"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            # A damaged cache is rebuilt: the clustering is a function of images and seed.
            log.warning("%s is unreadable (%s); clustering the images again", cache, err)
    if old is not None and made == {**key, "digest": digest}:
        return np.asarray(old, np.int32)
    start = time.perf_counter()
    ids = clusters.cluster_ids(images, config.clusters, seed, config.cluster_pca_dims)
    if old is not None and made.get("k") == config.clusters:
        ids = clusters.match_ids(old, ids, config.clusters)
    log.info(
        "Clustered %d images into %d groups in %.1fs",
        len(ids),
        config.clusters,
        time.perf_counter() - start,
    )
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(cache) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, ids=ids, made_from=json.dumps({**key, "digest": digest}))
    return np.asarray(ids, np.int32)


def session_summary(
    config: GANConfig,
    expired: bool,
    position: tuple[int, int, int],
    trained_steps: int,
    wall: float,
    train_seconds: float,
    strategy: Any,
) -> dict[str, Any]:
    """``summary.json``: how the session ended, where the run is (epochs, step in the epoch,
    global step), steps and seconds of this session and of the whole run, speed, replicas."""
    from mnist_gan.gan import distribute

    epochs, step_in_epoch, global_step = position
    return {
        "ended": "time budget" if expired else "done",
        "epochs_done": epochs,
        "step_in_epoch": step_in_epoch,
        "steps_this_session": trained_steps,
        "global_step": global_step,
        "session_seconds": round(wall, 3),
        "train_seconds": round(train_seconds, 3),
        "images_per_second": round(trained_steps * config.batch_size / wall, 1),
        "strategy": config.strategy,
        "replicas": distribute.replicas(strategy),
    }


def summary_line(
    summary: dict[str, Any],
    minutes: float | None,
    first_epoch: int,
    grids: list[Path],
    grid_folder: Path,
    others: list[Path],
) -> str:
    """The one line a session ends with: how it ended, steps, time, speed, files written."""
    done, steps = summary["epochs_done"], summary["step_in_epoch"]
    where = f"{done} epoch(s)" + (f" + {steps} steps" if steps else "")
    if summary["ended"] == "time budget":
        stopped = f"Stopped at the {minutes:g}-minute budget after {where}; rerun to resume. "
    else:
        stopped = f"Done: {done - first_epoch} epoch(s), "
    return (
        f"{stopped}{summary['steps_this_session']} steps in "
        f"{format_seconds(summary['session_seconds'])}, "
        f"{summary['images_per_second']:.0f} images/s on {summary['replicas']} replica(s); wrote "
        f"{len(grids)} grid(s) in {grid_folder}, {', '.join(str(path) for path in others)}"
    )


def format_seconds(seconds: float) -> str:
    """``12.3s`` or ``4m05.2s``."""
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}m{secs:04.1f}s" if minutes else f"{secs:.1f}s"
