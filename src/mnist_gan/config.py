"""Every setting of a run, declared once.

Each field of :class:`GANConfig` is one declaration: name, type, default, one-line help, the
values it accepts and who reads it (its *scope*). Everything else is derived from these
declarations: validation (:meth:`GANConfig.validate`), the ``mnist-gan train`` flags
(``mnist_gan.cli``), ``config.json``, the model's ``get_config`` (the model-scoped settings
only), checkpoints' saved settings, and the settings table in ``docs/settings.md``.

Scopes say who reads a setting:

- ``network``: defines the networks; a run can only resume into the same values;
- ``step``: read by ``MNISTGAN.train_step``;
- ``compile``: the optimizers and ``compile()`` options (``MNISTGAN.compile`` defaults);
- ``run``: read by the trainer only; these never pass through the model.

This module knows nothing of the networks: the preset rows and their builders are registered
together in :mod:`mnist_gan.models.presets`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mnist_gan.declarations import (
    DECAY,
    FRACTION,
    INCREASING_PAIR,
    NON_NEGATIVE,
    NOT_EMPTY,
    POSITIVE,
    UNIT_OPEN,
    SettingSpec,
    check_value,
    is_number,
    jsonable,
    read_declarations,
    setting,
)

NETWORK, STEP, COMPILE, RUN = "network", "step", "compile", "run"
MODEL_SCOPES = (NETWORK, STEP, COMPILE)


@dataclass
class GANConfig:
    """Every setting of a training run.

    Build one with :func:`mnist_gan.models.presets.make_config`.
    """

    # -- the networks (a run resumes only into the same values) --
    preset: str = setting("dcgan", "design to train (see `mnist-gan presets`)", NETWORK)
    latent_dim: int = setting(100, "size of the noise vector z", NETWORK, rule=POSITIVE)
    noise: str = setting(
        "normal", "noise for z: N(0, 1) or U(-1, 1)", NETWORK, choices=("normal", "uniform")
    )
    pixel_range: tuple[float, float] = setting(
        (-1.0, 1.0),
        "range real images are scaled to and the generator outputs",
        NETWORK,
        rule=INCREASING_PAIR,
    )
    image_size: int = setting(
        28, "side the networks work at (grids and exports stay 28x28)", NETWORK, rule=POSITIVE
    )
    num_classes: int = setting(
        0,
        "classes a conditional design is trained with (the trainer takes them from the data; "
        "0: unconditional)",
        NETWORK,
        rule=NON_NEGATIVE,
    )
    g_conditioning: str = setting(
        "concat",
        "how cfast's generator sees the label: an embedding concatenated to z, class-"
        "conditional batch norm, or both",
        NETWORK,
        choices=("concat", "cbn", "both"),
    )
    # Sub-pixel (Shi et al. 2016) and space-to-depth keep every convolution at stride 1, where
    # oneDNN's data-gradient kernels run as fast as its forward ones (docs/speed.md).
    resample: str = setting(
        "strided",
        "fast/cfast/sfast: change resolution with stride-2 (transposed) convolutions, or with "
        "stride-1 convolutions and depth-to-space / space-to-depth (subpixel)",
        NETWORK,
        choices=("strided", "subpixel"),
        legacy="strided",
    )
    clusters: int = setting(
        0,
        "sfast: k-means clusters of the training images the networks are conditioned on in "
        "place of labels (0: not sfast)",
        NETWORK,
        rule=NON_NEGATIVE,
    )
    cluster_pca_dims: int = setting(
        50,
        "sfast: PCA dimensions the images are clustered in",
        RUN,
        rule=POSITIVE,
        flag="--cluster-pca-dims",
    )
    ema_decay: float = setting(
        0.0,
        "sample from an EMA of the generator's weights with this decay, e.g. 0.999 (0: off)",
        NETWORK,
        rule=UNIT_OPEN,
        flag="--ema",
    )
    # -- the train step --
    update: str = setting(
        "alternating",
        "D step then G step on fresh noise, or both gradients from one generator pass",
        STEP,
        choices=("alternating", "simultaneous"),
    )
    loss: str = setting(
        "bce", "non-saturating logistic loss, or hinge loss", STEP, choices=("bce", "hinge")
    )
    r1_gamma: float = setting(
        0.0, "R1 penalty (gamma/2) E‖∇D(x)‖² on real images (0: off)", STEP, rule=NON_NEGATIVE
    )
    r1_interval: int = setting(
        1,
        "lazy R1: add the penalty, times this, on every Nth discriminator step only (StyleGAN2; "
        "1: every step)",
        STEP,
        rule=POSITIVE,
        legacy=1,
    )
    d_loss_reduction: str = setting(
        "sum", "D loss as loss(real) + loss(fake), or their mean", STEP, choices=("sum", "mean")
    )
    fused_discriminator: bool = setting(
        False, "one discriminator call on real and fake batches together (speed)", STEP
    )
    # BigGAN's ema_start: early generators drift or hop between modes, and an average of them
    # was measured worse than the live one (docs/fast_preset.md).
    ema_start: int = setting(
        10_000,
        "generator steps the EMA copies the generator before averaging",
        STEP,
        rule=NON_NEGATIVE,
    )
    # -- optimizers and compile() (TTUR: the two learning rates are independent) --
    g_learning_rate: float = setting(
        2e-4, "generator learning rate", COMPILE, rule=POSITIVE, flag="--g-lr"
    )
    d_learning_rate: float = setting(
        2e-5, "discriminator learning rate", COMPILE, rule=POSITIVE, flag="--d-lr"
    )
    lr_decay_rate: float = setting(
        0.96, "multiply both LRs by this every lr_decay_steps (1: constant)", COMPILE, rule=DECAY
    )
    lr_decay_steps: int = setting(
        1000, "steps between LR decays (staircase)", COMPILE, rule=POSITIVE
    )
    beta_1: float = setting(0.5, "Adam beta_1", COMPILE, rule=UNIT_OPEN)
    beta_2: float = setting(0.999, "Adam beta_2", COMPILE, rule=UNIT_OPEN)
    jit_compile: bool = setting(False, "compile the train step with XLA", COMPILE)
    precision: str = setting(
        "float32",
        "compute dtype: float32, or bfloat16 with float32 weights, logits, losses and R1 (mixed "
        "precision) on a CPU that computes bfloat16 natively (else float32); auto: bfloat16 "
        "where native",
        COMPILE,
        choices=("float32", "bfloat16", "auto"),
        legacy="float32",
    )
    steps_per_execution: int = setting(
        1, "train steps per compiled call (must divide an epoch's steps)", COMPILE, rule=POSITIVE
    )
    # -- the run (trainer only) --
    batch_size: int = setting(100, "images per step", RUN, rule=POSITIVE)
    epochs: int = setting(50, "total epochs of the run (resumed epochs count)", RUN, rule=POSITIVE)
    seed: int | None = setting(
        None, "fixes init, noise and data order (unset: drawn once per run)", RUN, rule=NON_NEGATIVE
    )
    output_dir: str = setting("outputs", "where grids, checkpoints and the model go", RUN)
    init_from: str | None = setting(
        None,
        "fine-tune: start G, EMA G and D from a shipped preset's name (cfast), a preset folder "
        "or a .keras model; a checkpoint in the output folder wins (docs/pretrained.md)",
        RUN,
        rule=NOT_EMPTY,
    )
    data_path: str | None = setting(
        None,
        "the images to train on: a folder of class folders of images (or of images), a folder "
        "of the four IDX files, a Keras-layout .npz or an .npy of images (docs/data.md; unset: "
        "$MNIST_GAN_DATA, else MNIST)",
        RUN,
        flag="--data",
    )
    data_labels: str | None = setting(
        None,
        "with an --data .npy of images: an .npy of their labels, one integer class each",
        RUN,
        rule=NOT_EMPTY,
    )
    limit: int | None = setting(None, "train on the first N images only", RUN, rule=POSITIVE)
    sample_frequency: int = setting(
        100, "steps between sample grids (0: only at epoch ends)", RUN, rule=NON_NEGATIVE
    )
    sample_every_epochs: int = setting(
        0, "also a grid every N epochs (0: off)", RUN, rule=NON_NEGATIVE
    )
    eval_every: int = setting(
        0,
        "sample-quality metrics every N epochs (2,000 samples; keeps best_model.keras; 0: off)",
        RUN,
        rule=NON_NEGATIVE,
    )
    keep_checkpoints: int = setting(3, "newest per-epoch checkpoints kept", RUN, rule=POSITIVE)
    minutes: float | None = setting(
        None, "stop after this much training time (checkpointed; resumable)", RUN, rule=POSITIVE
    )
    snapshot_minutes: float | None = setting(
        None, "save the model every N minutes of training (quality curves)", RUN, rule=POSITIVE
    )
    threads: int | None = setting(
        None, "CPU threads for TensorFlow ops (unset: all cores)", RUN, rule=POSITIVE
    )
    strategy: str = setting(
        "default",
        "tf.distribute strategy; batch_size stays the global batch (docs/distributed.md)",
        RUN,
        choices=("default", "one-device", "mirrored", "multi-worker", "tpu"),
    )
    # Measured in docs/distributed.md: per-replica statistics make 2 replicas train differently
    # from one device on the same global batch; synchronised ones match it to float rounding.
    sync_batch_norm: bool = setting(
        True,
        "with several replicas, batch norm uses the global batch's statistics (off: per replica)",
        RUN,
    )
    tensorboard: str | None = setting(
        None,
        "TensorBoard logs (scalars, sample grids) in DIR, relative to the output folder "
        "(flag alone: tensorboard -> OUTPUT/tensorboard; needs the tensorboard package)",
        RUN,
        rule=NOT_EMPTY,
        const="tensorboard",
    )
    on_divergence: str = setting(
        "stop",
        "on a non-finite loss: stop with an error, or roll back to the last good checkpoint, "
        "lower both learning rates by rollback_factor and continue",
        RUN,
        choices=("stop", "rollback"),
    )
    rollback_factor: float = setting(
        0.5, "learning-rate multiplier of each rollback", RUN, rule=FRACTION
    )
    max_rollbacks: int = setting(
        3, "rollbacks before a diverging run stops with an error", RUN, rule=POSITIVE
    )
    animate: bool = setting(False, "write OUTPUT/progress.gif from the grids after training", RUN)

    def validate(self) -> GANConfig:
        """Raise :class:`MNISTGANError` naming the first bad setting; return self when all fit.

        Checks each value against its declaration (type, choices, rule). The preset name and
        the image sizes a design supports are checked by
        :func:`mnist_gan.models.presets.make_config`.
        """
        for spec in SETTINGS.values():
            check_value(spec, getattr(self, spec.name))
        return self

    def to_dict(self, scopes: tuple[str, ...] | None = None) -> dict[str, Any]:
        """A JSON-ready dict of the settings (only those of ``scopes`` when given)."""
        return {
            name: jsonable(getattr(self, name))
            for name, spec in SETTINGS.items()
            if scopes is None or spec.scope in scopes
        }

    def to_json(self) -> str:
        """The settings as indented JSON (written beside each run as ``config.json``)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


SETTINGS: dict[str, SettingSpec] = read_declarations(GANConfig)
NETWORK_SETTINGS = tuple(name for name, spec in SETTINGS.items() if spec.scope == NETWORK)
MODEL_SETTINGS = tuple(name for name, spec in SETTINGS.items() if spec.scope in MODEL_SCOPES)


def saved_settings(saved: dict[str, Any]) -> dict[str, Any]:
    """Settings read back from a file (``config.json``, a checkpoint, a ``.keras`` model, a
    preset folder) with each setting declared since that file was written set to its
    ``legacy`` value: the file's run behaved that way, whatever today's preset default is."""
    missing = {
        name: spec.legacy
        for name, spec in SETTINGS.items()
        if spec.legacy is not None and name not in saved
    }
    return {**missing, **saved}


def coerce(name: str, value: Any) -> Any:
    """``value`` in the declared type where that is lossless (a JSON list -> tuple)."""
    if SETTINGS[name].kind is tuple and isinstance(value, list | tuple):
        return tuple(float(v) if is_number(v) else v for v in value)
    return value
