"""Loading saved models (mnist_gan.outputs.loading): files written before the modules moved."""

import json
import zipfile

import keras
import numpy as np

from mnist_gan import MNISTGAN
from mnist_gan.outputs.loading import load_generator_model

# Where the classes lived when earlier .keras files were written; Keras records the module of
# every custom object next to its registered name.
OLD_MODULES = {
    "mnist_gan.gan.model": "mnist_gan.models.gan",
    "mnist_gan.models.rng": "mnist_gan.rng",
}


def as_saved_before_the_move(path, out):
    """A copy of the .keras file ``path`` whose config names the modules of before the move."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            payload = src.read(item.filename)
            if item.filename == "config.json":
                text = payload.decode()
                for new, old in OLD_MODULES.items():
                    text = text.replace(f'"module": "{new}"', f'"module": "{old}"')
                payload = text.encode()
            dst.writestr(item, payload)
    return out


def test_a_keras_file_that_names_the_old_module_paths_still_loads(tmp_path):
    gan = MNISTGAN(preset="dcgan", seed=0)  # dcgan's generator holds the seeded rng.Dropout
    gan.save(tmp_path / "new.keras")
    old = as_saved_before_the_move(tmp_path / "new.keras", tmp_path / "old.keras")
    text = zipfile.ZipFile(old).read("config.json").decode()
    config = json.loads(text)
    assert config["module"] == "mnist_gan.models.gan"
    assert config["registered_name"] == "mnist_gan>MNISTGAN"
    assert '"module": "mnist_gan.rng"' in text and "mnist_gan.gan.model" not in text
    expected = gan.generate(4, seed=5)
    for loaded in (load_generator_model(old), keras.models.load_model(old)):
        assert isinstance(loaded, MNISTGAN)
        np.testing.assert_array_equal(loaded.generate(4, seed=5), expected)
