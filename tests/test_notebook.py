"""The demo notebook runs headless, end to end, in a tiny configuration."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "training_demo.ipynb"


def test_training_demo_notebook_executes(tmp_path, tiny_npz, monkeypatch):
    monkeypatch.setenv("DEMO_EPOCHS", "1")
    monkeypatch.setenv(
        "DEMO_LIMIT", "100"
    )  # one batch of the default preset, the least it trains on
    monkeypatch.setenv("DEMO_DATA", str(tiny_npz))
    monkeypatch.setenv("DEMO_OUTPUT_DIR", str(tmp_path / "demo"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    # real digits, the live grid, saved grids, loss curves, fresh samples, the latent walk
    assert len(images) >= 6
    assert (tmp_path / "demo" / "model.keras").is_file()
    text = "".join(o.get("text", "") for o in outputs)
    assert "Done: 1 epoch(s)" in text and "tensorflow" in text
    assert "unconditional model: no digit picker" in text
    # The live grid's caption, updated in place (one output, the final step's text).
    captions = [o for o in outputs if "epoch 1 · step" in o.get("data", {}).get("text/plain", "")]
    assert len(captions) == 1 and "d_loss" in captions[0]["data"]["text/plain"]


if __name__ == "__main__":
    pytest.main([__file__])
