"""How long a folder of 70,000 small PNGs takes to load: ``python -m benchmarks.folder_load``.

Writes a dataset's 70,000 images (Fashion-MNIST from Debian's ``dataset-fashion-mnist`` when
installed, else MNIST) as PNG files in one folder per class, then times
:func:`mnist_gan.data.datasets.load_dataset` on it three ways: the first load (every file
decoded, the cache written), a cached load (every file's bytes hashed, the cache read) and, after
one file changed, a load that decodes again. The cache lives in a fresh temporary folder.
Results: ``benchmarks/results/folder_load.{json,md}`` and docs/data.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
FASHION = Path("/usr/share/datasets/fashion-mnist")


def write_folder(root: Path) -> tuple[str, int]:
    """The images of Fashion-MNIST (or MNIST) as PNGs under ``root/<class>/``; (name, count)."""
    from PIL import Image

    from mnist_gan.data.datasets import load_dataset

    data = load_dataset(FASHION if FASHION.is_dir() else None)
    images = np.concatenate([data.x_train, data.x_test])
    labels = np.concatenate([data.y_train, data.y_test])
    for index, (image, label) in enumerate(zip(images, labels)):
        folder = root / data.class_names[label].replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{index:05d}.png")
    return data.name, len(images)


def timed(path: Path) -> tuple[float, Any]:
    from mnist_gan.data.datasets import load_dataset

    start = time.perf_counter()
    data = load_dataset(path)
    return time.perf_counter() - start, data


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Write the folder, time the three loads, print and record them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS / "folder_load"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MNIST_GAN_CACHE"] = str(Path(tmp) / "cache")
        root = Path(tmp) / "images"
        start = time.perf_counter()
        source, count = write_folder(root)
        written = time.perf_counter() - start
        first, data = timed(root)
        cached, again = timed(root)
        assert again.sha256 == data.sha256
        files = sorted(root.rglob("*.png"))
        files[0].write_bytes(files[1].read_bytes())  # one file's content changes
        after_change, changed = timed(root)
        assert changed.sha256 != data.sha256
    result = {
        "images": count,
        "source": source,
        "write_seconds": round(written, 1),
        "first_load_seconds": round(first, 2),
        "cached_load_seconds": round(cached, 2),
        "load_after_one_file_changed_seconds": round(after_change, 2),
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg()[0],
    }
    table = (
        f"{count:,} PNG files ({source}, one folder per class): first load "
        f"**{first:.1f} s**, cached **{cached:.2f} s**, after one file changed "
        f"{after_change:.1f} s ({os.cpu_count()} cores)."
    )
    print(table)
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    Path(args.out).with_suffix(".md").write_text(table + "\n")
    return result


if __name__ == "__main__":
    main()
