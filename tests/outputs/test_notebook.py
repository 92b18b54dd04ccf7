"""mnist_gan.outputs.notebook: the digit picker (fake generator), the live grid outside a kernel."""

import io
from types import SimpleNamespace

import numpy as np
from PIL import Image

from mnist_gan.outputs.notebook import (
    LiveGridCallback,
    digit_picker,
    in_jupyter_kernel,
    show_digit_picker,
)


class FakeConditionalGAN:
    """generate(n, seed=, labels=) -> images whose brightness encodes the label."""

    def __init__(self, num_classes: int = 10) -> None:
        self.config = SimpleNamespace(num_classes=num_classes, pixel_range=(0.0, 1.0))
        self.calls = []

    def generate(self, num, seed=None, labels=None):
        self.calls.append((num, seed, None if labels is None else list(labels)))
        value = np.asarray(labels, "float32").reshape(-1, 1, 1, 1) / 10
        return np.broadcast_to(value, (num, 28, 28, 1)).copy()


def grid_pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_digit_picker_draws_the_chosen_digit():
    gan = FakeConditionalGAN()
    picker = digit_picker(gan.generate, classes=10, num=6, seed=7, pixel_range=(0.0, 1.0))
    assert gan.calls == [(6, 7, [0] * 6)]
    assert (picker.slider.min, picker.slider.max) == (0, 9)
    assert grid_pixels(picker.image.value).max() == 0  # digit 0 -> black images
    picker.slider.value = 4
    assert gan.calls[-1] == (6, 7, [4] * 6)
    grid = grid_pixels(picker.image.value)
    assert grid.shape == (3 * (2 * 30 + 2), 3 * (3 * 30 + 2))  # 2 rows x 3 cols, scaled 3x
    assert grid.max() == round(0.4 * 255)


def test_picker_only_for_conditional_models():
    assert show_digit_picker(FakeConditionalGAN(num_classes=0)) is None
    plain = SimpleNamespace(config=SimpleNamespace(pixel_range=(-1.0, 1.0)))  # no num_classes
    assert show_digit_picker(plain) is None
    gan = FakeConditionalGAN(num_classes=3)
    picker = show_digit_picker(gan, num=2, seed=1)
    assert picker.slider.max == 2 and gan.calls == [(2, 1, [0, 0])]


def test_live_grid_does_nothing_outside_a_kernel():
    assert not in_jupyter_kernel()
    callback = LiveGridCallback(every=1)
    callback.set_model(SimpleNamespace(g_optimizer=SimpleNamespace(iterations=np.int64(3))))
    callback.on_train_begin()
    callback.on_train_end()
    assert callback.updates == 0
