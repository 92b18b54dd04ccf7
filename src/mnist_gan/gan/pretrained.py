"""Pretrained presets: trained weights in a keras-hub-style folder, shipped inside the package.

A preset folder holds three files (keras-hub's convention: config + metadata + weights):

- ``config.json``: the model's class and its settings (``{"class_name": "MNISTGAN",
  "config": {...}}``), enough to rebuild the networks with
  :func:`mnist_gan.models.presets.make_config`;
- ``metadata.json``: package, Keras and TensorFlow versions, the settings, how the weights were
  made (command, training minutes), their scores by the package's evaluator, the weights
  file's sha256, its storage dtype and the measured float16 sample difference;
- ``model.weights.npz``: every variable (trainable or not: batch-norm moving statistics
  included) of the generator (``generator/...``), the EMA generator (``ema/...``, when the
  model has one) and the discriminator (``discriminator/...``), named as in training
  checkpoints (:func:`mnist_gan.gan.checkpoint.named_variables`). Floating-point arrays are stored
  as float16 by default (half the size); optimizer state is not stored.

``MNISTGAN.from_preset`` (through :func:`read_preset`) takes a folder or the name of a preset
shipped in the package (``mnist_gan/pretrained_presets/NAME``, read with
:mod:`importlib.resources`: no network). A local path of the same name wins, with a note. The
sha256 is checked before the weights are read. Finding and describing presets needs no
TensorFlow; this module never imports the model (``MNISTGAN`` builds itself from what it reads).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.gan.shipped import (
    CONFIG_FILE,
    METADATA_FILE,
    PRESET_FILES,
    WEIGHTS_FILE,
    display,
    read_json,
    resolve_preset,
)

if TYPE_CHECKING:
    from mnist_gan.config import GANConfig
    from mnist_gan.gan.model import MNISTGAN

log = logging.getLogger("mnist_gan")

FORMAT = 1
GROUPS = ("generator", "ema", "discriminator", "clusters")
# Stored as float32 whatever the dtype: sfast's cluster frequencies are the boundaries that map
# a noise vector to a cluster, and float16 would move them (and so whole samples).
EXACT_GROUPS = ("clusters",)
STORAGE_DTYPES = ("float16", "float32")

# Samples from float16-stored weights against the float32 originals, same noise: at most this
# far apart in [-1, 1] pixel space, i.e. at most FLOAT16_MAX_LEVELS of 255 after to_uint8.
# Measured (docs/pretrained.md): about 0.002-0.005 for fast/cfast networks, so 0.02 has 4x
# headroom; save_preset measures every preset it writes and refuses one beyond it.
FLOAT16_MAX_ABS = 0.02
FLOAT16_MAX_LEVELS = 3  # 0.02 * 255 / 2 = 2.55 levels, rounding may add one
CHECK_SAMPLES, CHECK_SEED = 256, 0


@dataclass(frozen=True)
class PresetContents:
    """A preset read back (:func:`read_preset`): settings, data card, weights, where from."""

    config: GANConfig
    data: dict[str, Any] | None
    arrays: dict[str, np.ndarray]
    where: str
    metadata: dict[str, Any]


# ------------------------------------------------------------------ weights as named arrays
def network_variables(gan: MNISTGAN) -> dict[str, Any]:
    """``{"group/name": variable}`` of the generator, EMA generator (with its update count)
    and discriminator: every variable, trainable or not; no optimizer state."""
    from mnist_gan.gan.checkpoint import named_variables

    groups = {
        "generator": named_variables(gan.generator),
        "discriminator": named_variables(gan.discriminator),
    }
    if gan.ema_generator is not None:
        groups["ema"] = [*named_variables(gan.ema_generator), ("ema_updates", gan.ema_updates)]
    if gan.cluster_draw is not None:  # sfast: which cluster a noise vector draws
        groups["clusters"] = [("frequencies", gan.cluster_draw.frequencies)]
    return {f"{group}/{name}": v for group, pairs in groups.items() for name, v in pairs}


def network_weights(gan: MNISTGAN, dtype: str = "float32") -> dict[str, np.ndarray]:
    """The arrays :func:`network_variables` names, floating ones stored as ``dtype``.

    An array whose values overflow float16 stays float32 (none does in the presets).
    """
    if dtype not in STORAGE_DTYPES:
        raise MNISTGANError(f"dtype must be one of {', '.join(STORAGE_DTYPES)}, got {dtype!r}")
    arrays = {}
    for key, variable in network_variables(gan).items():
        value = np.asarray(variable.numpy())
        if value.dtype.kind == "f" and key.split("/", 1)[0] not in EXACT_GROUPS:
            narrow = value.astype(dtype)
            value = narrow if np.isfinite(narrow).all() else value.astype(np.float32)
        arrays[key] = value
    return arrays


def assign_network_weights(
    gan: MNISTGAN, arrays: dict[str, np.ndarray], source: str, groups: tuple[str, ...] = GROUPS
) -> None:
    """Set ``gan``'s variables of ``groups`` from ``arrays`` (by name); every name and shape
    is checked first, so a mismatch raises :class:`MNISTGANError` and changes nothing."""
    targets = {k: v for k, v in network_variables(gan).items() if k.split("/", 1)[0] in groups}
    offered = {k for k in arrays if k.split("/", 1)[0] in groups}
    missing, extra = sorted(set(targets) - offered), sorted(offered - set(targets))
    if missing or extra:
        parts = [f"missing {', '.join(missing[:4])}" if missing else ""]
        parts.append(f"unexpected {', '.join(extra[:4])}" if extra else "")
        raise MNISTGANError(
            f"{source} does not match this model's networks: " + "; ".join(p for p in parts if p)
        )
    for key, variable in targets.items():
        if tuple(arrays[key].shape) != tuple(variable.shape):
            raise MNISTGANError(
                f"{source} does not match this model's networks: {key} has shape "
                f"{tuple(variable.shape)}, the weights {tuple(arrays[key].shape)}"
            )
    for key, variable in targets.items():
        variable.assign(np.asarray(arrays[key]).astype(variable.dtype))
    gan.sampler.clear()  # its ONNX Runtime copies of the old weights


# ------------------------------------------------------------------ save
def save_preset(
    gan: MNISTGAN,
    directory: str | os.PathLike[str],
    *,
    name: str | None = None,
    command: str | None = None,
    minutes: float | None = None,
    scores: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
    dtype: str = "float16",
    overwrite: bool = False,
    ema_only: bool = False,
) -> Path:
    """Write ``gan`` as a preset folder (config.json, metadata.json, model.weights.npz).

    ``name`` (default: the folder's name), ``command`` (how the weights were trained),
    ``minutes`` (training time) and ``scores`` (the evaluator's metrics, e.g. the
    ``metrics`` of ``mnist-gan evaluate --json``) go into the metadata, and ``provenance``
    (JSON-ready: where the weights and scores came from) as it is. ``dtype`` float16
    halves the file; the samples of the saved weights are compared with ``gan``'s and a
    difference beyond :data:`FLOAT16_MAX_ABS` raises (use float32 then). ``ema_only`` leaves
    out the live generator of a model that samples from its EMA (a third smaller): loading
    starts the live generator as a copy of the EMA, where fine-tuning would start anyway. An
    existing preset in ``directory`` is replaced only with ``overwrite``. Returns the folder.
    """
    import keras
    import tensorflow as tf

    from mnist_gan import __version__
    from mnist_gan.files import atomic_write, write_text

    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise MNISTGANError(f"{folder} is a file; save_to_preset needs a folder")
    if any((folder / f).exists() for f in PRESET_FILES) and not overwrite:
        raise MNISTGANError(f"{folder} already holds a preset; pass overwrite=True to replace it")
    arrays = network_weights(gan, dtype)
    if ema_only:
        if gan.ema_generator is None:
            raise MNISTGANError("ema_only needs a model with an EMA generator")
        arrays = {k: v for k, v in arrays.items() if not k.startswith("generator/")}
    check = None
    if dtype == "float16":
        check = float16_check(gan, with_live_generator(arrays), live_generator=not ema_only)
    if check is not None and check["max_abs_pixel_diff"] > FLOAT16_MAX_ABS:
        raise MNISTGANError(
            f"float16 weights change this model's samples by up to "
            f"{check['max_abs_pixel_diff']:.3g} (the tolerance is {FLOAT16_MAX_ABS}); save it "
            'with dtype="float32"'
        )
    with atomic_write(folder / WEIGHTS_FILE) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    settings = _portable_settings(gan.config.to_dict())
    config = {
        "module": "mnist_gan.gan.model",
        "class_name": "MNISTGAN",
        "registered_name": "mnist_gan>MNISTGAN",
        "config": settings,
    }
    counts = {
        "generator": int(gan.generator.count_params()),
        "discriminator": int(gan.discriminator.count_params()),
    }
    if gan.ema_generator is not None:
        counts["ema_generator"] = int(gan.ema_generator.count_params())
    metadata = {
        "format": FORMAT,
        "name": name or folder.resolve().name,
        "mnist_gan_version": __version__,
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "date_saved": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "settings": settings,
        "training": {"command": command, "minutes": minutes},
        "data": gan.data_card,
        "scores": scores or {},
        "provenance": provenance or {},
        "parameter_count": counts,
        "weights": {
            "file": WEIGHTS_FILE,
            "sha256": sha256_of(folder / WEIGHTS_FILE),
            "bytes": (folder / WEIGHTS_FILE).stat().st_size,
            "dtype": dtype,
            "groups": sorted({k.split("/", 1)[0] for k in arrays}),
        },
        "float16_check": check,
    }
    write_text(folder / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_text(folder / METADATA_FILE, json.dumps(metadata, indent=2) + "\n")
    return folder


def with_live_generator(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` of a preset saved ``ema_only``, with the live generator's copied from the
    EMA's; other arrays as they are."""
    if any(k.startswith("generator/") for k in arrays):
        return arrays
    ema = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("ema/")}
    return {**arrays, **{f"generator/{k}": v for k, v in ema.items() if k != "ema_updates"}}


def _portable_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings without the paths of the machine the weights were trained on."""
    from mnist_gan.config import SETTINGS

    machine = ("output_dir", "data_path", "tensorboard", "threads", "init_from")
    return {k: (SETTINGS[k].default if k in machine else v) for k, v in settings.items()}


def float16_check(
    gan: MNISTGAN, arrays: dict[str, np.ndarray], live_generator: bool = True
) -> dict[str, Any]:
    """How far samples with ``arrays`` (e.g. float16) are from samples with ``gan``'s own
    weights: the same noise (and digits) through the sampling generator, and the live one
    unless ``live_generator`` is False (an ``ema_only`` preset, whose live generator is the
    EMA's copy). Both copies compute in float32, so bfloat16 compute (``precision``) is not
    taken for storage loss."""
    import dataclasses

    from mnist_gan.data.images import to_uint8

    exact = dataclasses.replace(gan.config, precision="float32")
    original, twin = (type(gan)(config=exact, data=gan.data_card) for _ in range(2))
    assign_network_weights(original, network_weights(gan, "float32"), "the float32 weights")
    assign_network_weights(twin, arrays, "the float16 weights")
    gan = original
    worst, levels = 0.0, 0
    for use_ema in {gan.ema_generator is not None, not live_generator}:
        options = {"seed": CHECK_SEED, "use_ema": use_ema}
        a = gan.generate(CHECK_SAMPLES, **options)
        b = twin.generate(CHECK_SAMPLES, **options)
        low, high = gan.config.pixel_range
        # in [-1, 1] units whatever the pixel range, so one tolerance fits every preset
        worst = max(worst, float(np.abs(a - b).max()) * 2.0 / (high - low))
        ua, ub = to_uint8(a, gan.config.pixel_range), to_uint8(b, gan.config.pixel_range)
        levels = max(levels, int(np.abs(ua.astype(int) - ub.astype(int)).max()))
    return {
        "samples": CHECK_SAMPLES,
        "seed": CHECK_SEED,
        "max_abs_pixel_diff": worst,
        "max_uint8_levels": levels,
        "tolerance": FLOAT16_MAX_ABS,
    }


# ------------------------------------------------------------------ load
def read_preset(name_or_dir: str | os.PathLike[str]) -> PresetContents:
    """What a preset folder or a shipped preset's name holds, checked: its settings, its data
    card, its named weight arrays. ``MNISTGAN.from_preset`` builds the model from them.

    The weights file's sha256 is checked against ``metadata.json`` first: a damaged or changed
    file raises one :class:`MNISTGANError` naming it, as does a config that is not an MNISTGAN's.
    """
    from mnist_gan.config import saved_settings
    from mnist_gan.models.presets import make_config

    folder, where = resolve_preset(name_or_dir)
    metadata = read_json(folder, METADATA_FILE, where)
    saved = read_json(folder, CONFIG_FILE, where)
    weights = folder.joinpath(WEIGHTS_FILE)
    payload = weights.read_bytes()
    expected = (metadata.get("weights") or {}).get("sha256")
    if not isinstance(expected, str):
        raise MNISTGANError(f"{where}: {METADATA_FILE} records no sha256 for {WEIGHTS_FILE}")
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise MNISTGANError(
            f"{display(weights)} is damaged: checksum mismatch (sha256 {actual[:16]}..., "
            f"{METADATA_FILE} expects {expected[:16]}...); reinstall the package or save the "
            "preset again"
        )
    settings = saved_settings(dict(saved.get("config") or {}))
    if saved.get("class_name") != "MNISTGAN" or "preset" not in settings:
        raise MNISTGANError(f"{where}: {CONFIG_FILE} does not describe an MNISTGAN")
    try:
        config = make_config(settings.pop("preset"), **settings)
    except MNISTGANError as err:
        raise MNISTGANError(f"{where}: {err}") from None
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise MNISTGANError(f"{display(weights)} is unreadable ({err})") from None
    arrays = with_live_generator(arrays)
    return PresetContents(config, metadata.get("data"), arrays, where, metadata)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
