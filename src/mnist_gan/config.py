"""Training settings: one dataclass, and the table of presets that fill it.

A preset is a row of settings (data, not a class). Its architecture comes from
``mnist_gan.models.BUILDERS[preset]``; everything else here is a default the user may override.
The pixel range, the noise distribution and the generator's output activation travel together:
``pixel_range`` is both the range real images are scaled to and the range of the generator's
output, so sampling, saving and evaluation can never disagree about them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from mnist_gan.errors import MNISTGANError

NOISE_KINDS = ("normal", "uniform")
LOSSES = ("bce", "hinge")
# Sides each design can be built at (presets not listed: 28 only).
IMAGE_SIZES = {"dcgan64": (64, 32)}


@dataclass
class GANConfig:
    """Every setting of a training run. Build one with :func:`make_config`."""

    preset: str = "dcgan"
    # -- model --
    latent_dim: int = 100  # size of z
    noise: str = "normal"  # "normal": N(0, 1); "uniform": U(-1, 1)
    pixel_range: tuple[float, float] = (-1.0, 1.0)  # real data scaled here; generator outputs here
    image_size: int = 28  # side the networks work at; grids and .npy exports are always 28x28
    # -- optimisation (TTUR: the two learning rates are independent) --
    batch_size: int = 100
    epochs: int = 50
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-5
    lr_decay_rate: float = 0.96  # multiply both LRs by this every lr_decay_steps (1.0 = constant)
    lr_decay_steps: int = 1000
    beta_1: float = 0.5
    beta_2: float = 0.999
    d_loss_reduction: str = "sum"  # "sum": loss(real) + loss(fake); "mean": their average
    update: str = "alternating"  # or "simultaneous": one G pass feeds both losses (faster)
    loss: str = "bce"  # "bce": non-saturating logistic loss; "hinge": hinge D, -D(G(z)) for G
    r1_gamma: float = 0.0  # > 0: R1 penalty gamma/2 * |grad_x D(x)|^2 on real images
    # -- run --
    seed: int | None = None  # an int fixes init, noise and data order; None draws one per run
    output_dir: str = "outputs"
    limit: int | None = None  # train on the first N images only (quick runs)
    sample_frequency: int = 100  # steps between sample grids (0: only at epoch ends)
    sample_every_epochs: int = 0  # also a grid every N epochs (0: off)
    eval_every: int = 0  # sample-quality metrics every N epochs (0: off); see evaluation
    keep_checkpoints: int = 3  # newest per-epoch checkpoints kept on disk
    data_path: str | None = None  # .npz or IDX folder; None: $MNIST_GAN_DATA, caches, mirror
    steps_per_execution: int = 1
    jit_compile: bool = False
    ema_decay: float = 0.0  # > 0: sample from an EMA of the generator's weights (e.g. 0.999)
    # Generator steps before the EMA starts averaging (it copies the generator until then), as
    # BigGAN's ema_start: early generators drift or hop between modes, and an average of them
    # was measured worse than the live one (docs/fast_preset.md).
    ema_start: int = 10_000
    minutes: float | None = None  # stop (checkpointed, resumable) after this much training time
    snapshot_minutes: float | None = None  # save the model every N minutes (quality curves)
    threads: int | None = None  # CPU threads for TensorFlow ops (None: all cores)

    def validate(self) -> GANConfig:
        """Raise :class:`MNISTGANError` naming the first bad setting; return self when all fit."""
        from mnist_gan.models import BUILDERS

        if self.preset not in PRESETS or self.preset not in BUILDERS:
            raise MNISTGANError(
                f"unknown preset {self.preset!r}; choose one of: {', '.join(PRESETS)}"
            )
        positive_ints = (
            "latent_dim",
            "batch_size",
            "epochs",
            "lr_decay_steps",
            "keep_checkpoints",
            "steps_per_execution",
            "image_size",
        )
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise MNISTGANError(f"{name} must be a positive integer, got {value!r}")
        for name in ("g_learning_rate", "d_learning_rate"):
            value = getattr(self, name)
            if not _is_number(value) or not value > 0 or not math.isfinite(value):
                raise MNISTGANError(f"{name} must be a positive number, got {value!r}")
        if not _is_number(self.lr_decay_rate) or not 0 < self.lr_decay_rate <= 1:
            raise MNISTGANError(f"lr_decay_rate must be in (0, 1], got {self.lr_decay_rate!r}")
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value < 1:
                raise MNISTGANError(f"{name} must be in [0, 1), got {value!r}")
        sizes = IMAGE_SIZES.get(self.preset, (28,))
        if self.image_size not in sizes:
            raise MNISTGANError(
                f"preset {self.preset!r} works at image_size "
                f"{' or '.join(map(str, sizes))}, got {self.image_size}"
            )
        if self.noise not in NOISE_KINDS:
            raise MNISTGANError(f"noise must be one of {NOISE_KINDS}, got {self.noise!r}")
        if self.update not in ("alternating", "simultaneous"):
            raise MNISTGANError(
                f"update must be 'alternating' or 'simultaneous', got {self.update!r}"
            )
        if self.loss not in LOSSES:
            raise MNISTGANError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if not _is_number(self.r1_gamma) or not 0 <= self.r1_gamma < math.inf:
            raise MNISTGANError(f"r1_gamma must be a number >= 0 (0: off), got {self.r1_gamma!r}")
        if self.d_loss_reduction not in ("sum", "mean"):
            raise MNISTGANError(
                f"d_loss_reduction must be 'sum' or 'mean', got {self.d_loss_reduction!r}"
            )
        low, high = self.pixel_range
        if not low < high:
            raise MNISTGANError(f"pixel_range must be (low, high) with low < high, got {low, high}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit <= 0):
            raise MNISTGANError(f"limit must be a positive integer or None, got {self.limit!r}")
        for name in ("sample_frequency", "sample_every_epochs", "eval_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise MNISTGANError(f"{name} must be an integer >= 0, got {value!r}")
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise MNISTGANError(f"seed must be a non-negative integer or None, got {self.seed!r}")
        if not _is_number(self.ema_decay) or not 0 <= self.ema_decay < 1:
            raise MNISTGANError(f"ema_decay must be in [0, 1) (0: off), got {self.ema_decay!r}")
        if (
            isinstance(self.ema_start, bool)
            or not isinstance(self.ema_start, int)
            or self.ema_start < 0
        ):
            raise MNISTGANError(f"ema_start must be an integer >= 0, got {self.ema_start!r}")
        if self.snapshot_minutes is not None and (
            not _is_number(self.snapshot_minutes) or not 0 < self.snapshot_minutes < math.inf
        ):
            raise MNISTGANError(
                f"snapshot_minutes must be a positive number, got {self.snapshot_minutes!r}"
            )
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise MNISTGANError(f"threads must be a positive integer, got {self.threads!r}")
        if self.minutes is not None and (
            not _is_number(self.minutes) or not 0 < self.minutes < math.inf
        ):
            raise MNISTGANError(f"minutes must be a positive number, got {self.minutes!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every setting."""
        data = dataclasses.asdict(self)
        data["pixel_range"] = list(self.pixel_range)
        return data

    def to_json(self) -> str:
        """The settings as indented JSON (written beside each run)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# Each preset: where the design comes from, then the settings it fixes. Keys are GANConfig fields.
PRESETS: dict[str, dict[str, Any]] = {
    "dcgan": {
        "description": "DCGAN 3x3x112 -> 28x28, TTUR 10:1 with LR decay (the default)",
        "origin": "Keras/TF DCGAN-on-MNIST notebooks (3x3x112 projection, 5x5 transposed convs)",
        # The GANConfig defaults are this design; XLA is a speed setting (+40% here, same maths).
        "settings": {"jit_compile": True},
    },
    "mlp": {
        "description": "fully connected GAN 256-512-1024 / 1024-512-256, uniform noise",
        "origin": (
            "the classic vanilla GAN on MNIST (Keras/PyTorch tutorials: MLPs with LeakyReLU 0.2 and"
            " Dropout 0.3, U(-1, 1) noise, D loss averaged over real+fake); Adam lr 2e-4 for both"
            " with beta_1 0.5 (the design fixes only the lr; 0.5 is the usual GAN choice)"
        ),
        "settings": {
            "noise": "uniform",
            "batch_size": 128,
            "epochs": 100,
            "g_learning_rate": 2e-4,
            "d_learning_rate": 2e-4,
            "lr_decay_rate": 1.0,
            "beta_1": 0.5,
            "d_loss_reduction": "mean",
            "sample_frequency": 0,
            "sample_every_epochs": 10,
            "jit_compile": True,  # speed only: 2x on this CPU
        },
    },
    "conv": {
        "description": "plain conv GAN: 7x7x100 -> ConvT 256/128 -> 28x28; D conv 64-128-256",
        "origin": (
            "plain PyTorch convolutional GAN (4x4 stride-2 (transposed) convs, padding 1,"
            " BatchNorm); z is projected linearly to 7x7x100; Adam 2e-4 beta_1 0.5 for both,"
            " batch 128; the design gives no epoch count, so the package default of 50 applies"
        ),
        "settings": {
            "batch_size": 128,
            "epochs": 50,
            "g_learning_rate": 2e-4,
            "d_learning_rate": 2e-4,
            "lr_decay_rate": 1.0,
            "beta_1": 0.5,
        },
    },
    "mlp-bn": {
        "description": "fully connected GAN with BatchNorm, z 64, sigmoid output in [0, 1]",
        "origin": (
            "the 'first GAN' of the Coursera GANs specialisation (Dense+BatchNorm+ReLU generator,"
            " sigmoid output, z 64, Adam 1e-5 with PyTorch's default beta_1 0.9, D loss averaged"
            " over real and fake), with a 1024-512-256 discriminator"
        ),
        "settings": {
            "latent_dim": 64,
            "pixel_range": (0.0, 1.0),
            "batch_size": 128,
            "epochs": 500,
            "g_learning_rate": 1e-5,
            "d_learning_rate": 1e-5,
            "lr_decay_rate": 1.0,
            "beta_1": 0.9,
            "d_loss_reduction": "mean",
            "sample_frequency": 300,
            "jit_compile": True,  # speed only
        },
    },
    "dcgan64": {
        "description": "classic DCGAN 4x4 convs at 64x64 (image_size=32: one block less)",
        "origin": (
            "Radford et al. 2015 as in the PyTorch DCGAN tutorial (N(0, 0.02) init, bias-free"
            " convs, BatchNorm, Adam 2e-4 beta_1 0.5, batch 128, its 5 epochs) on MNIST resized to"
            " 64x64; grids and exports are resized back to 28x28"
        ),
        "settings": {
            "image_size": 64,
            "batch_size": 128,
            "epochs": 5,
            "g_learning_rate": 2e-4,
            "d_learning_rate": 2e-4,
            "lr_decay_rate": 1.0,
            "beta_1": 0.5,
        },
    },
    "fast": {
        "description": "slim DCGAN, Adam 2e-3 beta 0/0.99, R1 0.5, EMA: good digits soonest",
        "origin": (
            "this package's recipe, chosen by measured Fréchet distance per CPU-minute"
            " (docs/fast_preset.md): a quarter of dcgan's discriminator cost, Adam 2e-3 with"
            " beta_1 0 and beta_2 0.99 for both networks (no 10:1 TTUR, no decay), R1 penalty"
            " gamma 0.5 on real images, batch 64, the simultaneous update, XLA, generator EMA"
            " 0.999"
        ),
        "settings": {
            "batch_size": 64,
            "epochs": 30,
            "g_learning_rate": 2e-3,
            "d_learning_rate": 2e-3,
            "lr_decay_rate": 1.0,
            "beta_1": 0.0,
            "beta_2": 0.99,
            "r1_gamma": 0.5,
            "update": "simultaneous",
            "jit_compile": True,
            "ema_decay": 0.999,
            "ema_start": 0,
            "sample_frequency": 500,
        },
    },
}


def make_config(preset: str = "dcgan", **overrides: Any) -> GANConfig:
    """Settings for ``preset`` with ``overrides`` applied on top, validated.

    Raises :class:`MNISTGANError` for an unknown preset, an unknown setting name or a bad value.
    ``None`` overrides are ignored, so CLI flags left unset keep the preset's default.
    """
    if preset not in PRESETS:
        raise MNISTGANError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    known = {f.name for f in dataclasses.fields(GANConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise MNISTGANError(
            f"unknown setting(s) {', '.join(unknown)}; known settings: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = dict(PRESETS[preset]["settings"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "pixel_range" in values:
        values["pixel_range"] = tuple(float(v) for v in values["pixel_range"])
    return GANConfig(preset=preset, **values).validate()


def presets_table(with_params: bool = True) -> str:
    """A plain-text table of the presets and their main defaults (``mnist-gan presets``).

    ``with_params`` builds each preset's networks once to count their parameters (all weights,
    BatchNorm moving statistics included); False skips that and the two columns.
    """
    header = (
        f"{'preset':<8} {'size':>4} {'z':>3} {'noise':<7} {'pixels':<7} {'batch':>5} "
        f"{'epochs':>6} {'g_lr':>7} {'d_lr':>7} "
        + (f"{'G params':>9} {'D params':>9} " if with_params else "")
        + "description"
    )
    rows = [header, "-" * len(header)]
    for name, preset in PRESETS.items():
        c = make_config(name)
        low, high = c.pixel_range
        params = ""
        if with_params:
            from mnist_gan.models import build_networks

            generator, discriminator = build_networks(c)
            params = f"{generator.count_params():>9,} {discriminator.count_params():>9,} "
        rows.append(
            f"{name:<8} {c.image_size:>4} {c.latent_dim:>3} {c.noise:<7} "
            f"{f'[{low:g},{high:g}]':<7} {c.batch_size:>5} {c.epochs:>6} "
            f"{c.g_learning_rate:>7.0e} {c.d_learning_rate:>7.0e} {params}{preset['description']}"
        )
    return "\n".join(rows)
