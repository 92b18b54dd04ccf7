"""Notebook helpers: a sample grid that refreshes in place while ``fit`` runs, a digit picker.

:class:`LiveGridCallback` shows one output that is replaced every few steps (IPython's
``display_id`` / ``update``); outside a Jupyter kernel it does nothing. :func:`digit_picker`
builds an ipywidgets slider -> grid for a conditional model (``pip install
'mnist-gan[notebook]'``); :func:`show_digit_picker` shows it only when the model is
conditional (``gan.config.num_classes > 0``).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from mnist_gan.data.images import make_grid, to_uint8
from mnist_gan.gan.steps import global_step


def in_jupyter_kernel() -> bool:
    """Whether this process is a Jupyter (IPython) kernel: there displays update in place and
    Keras's progress bar renders well (the one check, also used by ``training.progress``)."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def grid_png(pixels: np.ndarray, scale: int = 3, ncols: int | None = None) -> bytes:
    """uint8 ``(N, 28, 28)`` images as one PNG grid (upscaled ``scale``x), as bytes."""
    from PIL import Image

    grid = Image.fromarray(make_grid(pixels, ncols))
    grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    return buffer.getvalue()


def num_classes(gan: Any) -> int:
    """How many classes a model is conditioned on (0: unconditional)."""
    return int(getattr(gan.config, "num_classes", 0) or 0)


class LiveGridCallback(keras.callbacks.Callback):
    """Refreshes one grid of ``num`` fixed-seed samples in place every ``every`` steps.

    Under the grid a line shows the epoch, the global step and the step's losses. The same
    seed (and, for a conditional model, the labels 0, 1, ..., 9, 0, ...) is used each time,
    so the same digits are seen improving. Outside a Jupyter kernel it does nothing.
    """

    def __init__(self, every: int = 20, num: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.every = every
        self.num = num
        self.seed = seed
        self.updates = 0
        self._grid: Any = None
        self._text: Any = None
        self._epoch = 0

    def _render(self, logs: dict[str, Any] | None) -> None:
        from IPython.display import Image, display

        gan = self.model
        kwargs = {}
        classes = num_classes(gan)
        if classes:
            kwargs["labels"] = np.arange(self.num) % classes
        pixels = to_uint8(gan.generate(self.num, seed=self.seed, **kwargs), gan.config.pixel_range)
        image = Image(data=grid_png(pixels))
        step = global_step(gan)
        losses = ", ".join(
            f"{name} {float(value):.3f}"
            for name, value in (logs or {}).items()
            if name in ("d_loss", "g_loss")
        )
        text = f"epoch {self._epoch + 1} · step {step}" + (f" · {losses}" if losses else "")
        if self._grid is None:
            self._grid = display(image, display_id=True)
            self._text = display(text, display_id=True)
        else:
            self._grid.update(image)
            self._text.update(text)
        self.updates += 1

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if in_jupyter_kernel():
            self._render(logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        step = global_step(self.model)
        if self.every and step % self.every == 0 and in_jupyter_kernel():
            self._render(logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if in_jupyter_kernel():
            self._render(logs)


def digit_picker(
    generate: Callable[..., np.ndarray],
    *,
    classes: int = 10,
    num: int = 16,
    seed: int = 0,
    pixel_range: tuple[float, float] = (-1.0, 1.0),
) -> Any:
    """An ipywidgets box: a digit slider and a grid of ``num`` samples of the chosen digit.

    ``generate(num, seed=seed, labels=array)`` returns images in ``pixel_range`` (as
    ``MNISTGAN.generate`` of a conditional model does). Moving the slider redraws the grid;
    the box's ``slider`` and ``image`` attributes are the two widgets.
    """
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=0, min=0, max=classes - 1, description="digit")
    image = widgets.Image(format="png")

    def draw(digit: int) -> None:
        labels = np.full(num, digit, dtype="int32")
        pixels = to_uint8(generate(num, seed=seed, labels=labels), pixel_range)
        image.value = grid_png(pixels)

    slider.observe(lambda change: draw(change["new"]), names="value")
    draw(slider.value)
    box = widgets.VBox([slider, image])
    box.slider, box.image = slider, image
    return box


def show_digit_picker(gan: Any, num: int = 16, seed: int = 0) -> Any:
    """The :func:`digit_picker` of a conditional ``gan``; None (and nothing shown) otherwise."""
    classes = num_classes(gan)
    if classes <= 0:
        return None
    return digit_picker(
        gan.generate,
        classes=classes,
        num=num,
        seed=seed,
        pixel_range=tuple(gan.config.pixel_range),
    )
