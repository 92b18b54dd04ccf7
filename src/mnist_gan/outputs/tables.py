"""Plain-text tables for the command line: the presets with their defaults, parameter counts
and the scores of the pretrained weights that ship with the package (``mnist-gan presets``).
"""

from __future__ import annotations

from mnist_gan.models.presets import PRESETS, build_networks, make_config


def presets_table(with_params: bool = True) -> str:
    """A plain-text table of the presets and their main defaults (``mnist-gan presets``).

    ``with_params`` builds each preset's networks once to count their parameters (all weights,
    BatchNorm moving statistics included); False skips that and the two columns. The
    ``pretrained`` column shows the headline scores of presets whose weights ship in the
    package (``MNISTGAN.from_preset(name)``, ``mnist-gan sample NAME``), ``-`` for the others.
    """
    from mnist_gan.gan.shipped import headline, shipped_metadata

    shipped = {name: headline(meta) for name, meta in shipped_metadata().items()}
    width = max([10, *map(len, shipped.values())])
    header = (
        f"{'preset':<8} {'size':>4} {'z':>3} {'noise':<7} {'pixels':<7} {'batch':>5} "
        f"{'epochs':>6} {'g_lr':>7} {'d_lr':>7} "
        + (f"{'G params':>9} {'D params':>9} " if with_params else "")
        + f"{'pretrained':<{width}} description"
    )
    rows = [header, "-" * len(header)]
    for name, preset in PRESETS.items():
        c = make_config(name)
        low, high = c.pixel_range
        params = ""
        if with_params:
            generator, discriminator = build_networks(c)
            params = f"{generator.count_params():>9,} {discriminator.count_params():>9,} "
        rows.append(
            f"{name:<8} {c.image_size:>4} {c.latent_dim:>3} {c.noise:<7} "
            f"{f'[{low:g},{high:g}]':<7} {c.batch_size:>5} {c.epochs:>6} "
            f"{c.g_learning_rate:>7.0e} {c.d_learning_rate:>7.0e} {params}"
            f"{shipped.get(name, '-'):<{width}} {preset.description}"
        )
    return "\n".join(rows + ["", *shipped_table()])


def shipped_table() -> list[str]:
    """One line per pretrained preset in this install: its name, design, data and scores."""
    from mnist_gan.gan.shipped import headline, shipped_metadata

    found = shipped_metadata()
    if not found:
        return ["No pretrained weights ship in this install."]
    lines = ["Pretrained weights (mnist-gan sample NAME, MNISTGAN.from_preset(NAME)):"]
    for name, meta in found.items():
        design = (meta.get("settings") or {}).get("preset", "?")
        data = (meta.get("data") or {}).get("name") or "MNIST"
        trained = f"{design} on {data}"
        lines.append(f"  {name:<14} {trained:<24} {headline(meta)}")
    return lines
