"""Settings are declared once: validation, CLI flags, docs and serialisation derive from it."""

import ast

import pytest

from mnist_gan import MNISTGAN, MNISTGANError, make_config
from mnist_gan.cli import build_parser
from mnist_gan.config import MODEL_SETTINGS, NETWORK_SETTINGS, SETTINGS, GANConfig
from mnist_gan.models.presets import PRESETS, preset_defaults, settings_markdown
from tests.helpers import ROOT


def train_flags():
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    return {action.dest: action for action in train._actions}


def test_every_setting_is_a_train_flag_with_the_preset_defaults_in_its_help():
    flags = train_flags()
    for name, spec in SETTINGS.items():
        assert spec.internal is None, f"{name} is internal: say why in its declaration"
        assert name in flags, name
        assert spec.flag in flags[name].option_strings
        assert spec.help in flags[name].help and preset_defaults(name) in flags[name].help
    assert "fast 0.002" in flags["g_learning_rate"].help  # derived from the preset rows


def test_a_flag_reaches_the_config_under_the_settings_name():
    args = build_parser().parse_args(
        [
            "train",
            "--r1-gamma",
            "0.25",
            "--ema-start",
            "7",
            "--no-jit-compile",
            "--pixel-range",
            "0",
            "1",
        ]
    )
    assert (args.r1_gamma, args.ema_start, args.jit_compile) == (0.25, 7, False)
    config = make_config("dcgan", **{n: getattr(args, n) for n in SETTINGS if n != "preset"})
    assert config.pixel_range == (0.0, 1.0) and config.r1_gamma == 0.25


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("latent_dim", 0, "latent_dim must be an integer > 0, got 0"),
        ("latent_dim", 2.5, "an integer"),
        ("jit_compile", 1, "true or false"),
        ("loss", "wgan", "one of 'bce', 'hinge'"),
        ("beta_1", 1.0, "in [0, 1)"),
        ("lr_decay_rate", 0.0, "in (0, 1]"),
        ("g_learning_rate", float("nan"), "a number > 0"),
        ("pixel_range", (1.0, -1.0), "low < high"),
        ("minutes", -1, "> 0 (or unset)"),
        ("seed", -3, ">= 0"),
    ],
)
def test_values_are_checked_against_their_declaration(name, value, phrase):
    with pytest.raises(MNISTGANError, match=rf"^{name} must be .*") as err:
        make_config("dcgan", **{name: value})
    assert phrase in str(err.value)


def test_preset_rows_use_declared_names_and_valid_values():
    for preset, row in PRESETS.items():
        assert set(row.settings) <= set(SETTINGS), preset
        make_config(preset)  # validates every value of the row


def test_the_model_keeps_model_settings_only():
    gan = MNISTGAN(preset="fast", r1_gamma=0.25)
    saved = gan.get_config()
    # ``seed`` is the model's own argument (its noise stream), not the run's seed setting.
    assert {name for name in SETTINGS if name in saved} - {"seed"} == set(MODEL_SETTINGS)
    assert "batch_size" not in saved and "output_dir" not in saved
    assert MNISTGAN.from_config(saved).config.r1_gamma == 0.25
    with pytest.raises(MNISTGANError, match="batch_size is a setting of the training run"):
        MNISTGAN(batch_size=64)  # a run setting is not the model's


def test_network_settings_are_the_ones_a_resume_must_match():
    assert NETWORK_SETTINGS == (
        "preset", "latent_dim", "noise", "pixel_range", "image_size", "num_classes",
        "g_conditioning", "resample", "clusters", "ema_decay",
    )  # fmt: skip


def test_config_json_round_trips():
    config = make_config("mlp-bn", seed=3)
    saved = config.to_dict()
    assert make_config(saved.pop("preset"), **saved) == config
    assert isinstance(GANConfig().to_dict()["pixel_range"], list)


def test_docs_settings_table_is_generated_from_the_declarations():
    text = (ROOT / "docs" / "settings.md").read_text()
    assert text.endswith(settings_markdown()), "regenerate docs/settings.md (see its header)"


def test_the_settings_know_nothing_of_the_networks():
    """config.py and the declarations it is made of import no network code, not even lazily."""
    allowed = {"config.py": {"mnist_gan.declarations"}, "declarations.py": {"mnist_gan.errors"}}
    for filename, expected in allowed.items():
        tree = ast.parse((ROOT / "src" / "mnist_gan" / filename).read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        assert {name for name in imported if name.startswith("mnist_gan")} == expected, filename
        assert not imported & {"keras", "tensorflow"}, filename
