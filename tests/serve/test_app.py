"""The HTTP API through the framework's test client: every endpoint, every bad input."""

import io
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="mnist-gan serve needs fastapi (the README's install has it)")
from fastapi.testclient import TestClient  # noqa: E402

from mnist_gan.gan.model import MNISTGAN  # noqa: E402
from mnist_gan.serve.app import MAX_IMAGES, create_app  # noqa: E402
from mnist_gan.serve.models import ModelShelf, ServedModel  # noqa: E402


@pytest.fixture(scope="module")
def client():
    shelf = ModelShelf(
        [
            ServedModel(name, MNISTGAN.from_preset(name), f"shipped preset {name}")
            for name in ("cfast", "fast")
        ]
    )
    with TestClient(create_app(shelf), raise_server_exceptions=False) as test_client:
        yield test_client


def test_health_and_models(client):
    assert client.get("/healthz").json() == {"status": "ok", "models": ["cfast", "fast"]}
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert models["cfast"]["conditional"] and models["cfast"]["classes"] == [
        str(d) for d in range(10)
    ]
    assert not models["fast"]["conditional"] and models["fast"]["classes"] == []
    assert models["cfast"]["data"]["name"] == "MNIST"


def test_a_sample_in_every_format_is_the_same_images(client):
    query = {"model": "cfast", "n": 6, "seed": 3, "label": "7"}
    png = client.get("/api/sample", params={**query, "format": "png", "columns": 3})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    grid = np.asarray(Image.open(io.BytesIO(png.content)))
    assert grid.shape == ((2 * 30 + 2) * 2, (3 * 30 + 2) * 2)
    npy = np.load(io.BytesIO(client.get("/api/sample", params={**query, "format": "npy"}).content))
    assert npy.shape == (6, 28, 28) and npy.dtype == np.uint8
    body = client.get("/api/sample", params={**query, "format": "json"}).json()
    np.testing.assert_array_equal(np.asarray(body["images"], np.uint8), npy)
    assert body["labels"] == [7] * 6 and body["classes"] == ["7"] * 6
    again = np.load(
        io.BytesIO(client.get("/api/sample", params={**query, "format": "npy"}).content)
    )
    np.testing.assert_array_equal(again, npy)  # the seed decides the images


def test_a_walk_starts_at_its_seeds_sample(client):
    walk = client.get(
        "/api/interpolate",
        params={"model": "fast", "seed": 5, "to_seed": 9, "steps": 5, "format": "json"},
    )
    frames = np.asarray(walk.json()["images"], np.uint8)
    first = client.get("/api/sample", params={"model": "fast", "n": 1, "seed": 5, "format": "npy"})
    assert frames.shape == (5, 28, 28)
    assert np.abs(frames[0].astype(int) - np.load(io.BytesIO(first.content))[0]).max() <= 1
    png = client.get("/api/interpolate", params={"model": "cfast", "label": "3", "to_label": "8"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        ("/api/sample", {"model": "nope"}, 404, "no model 'nope'; the models here: cfast, fast"),
        ("/api/sample", {}, 422, "model: is required"),
        (
            "/api/sample",
            {"model": "fast", "n": MAX_IMAGES + 1},
            422,
            "n: must be less than or equal to 1024",
        ),
        ("/api/sample", {"model": "fast", "n": 0}, 422, "n: must be greater than or equal to 1"),
        ("/api/sample", {"model": "fast", "n": "many"}, 422, "n: must be a valid integer"),
        (
            "/api/sample",
            {"model": "fast", "seed": -1},
            422,
            "seed: must be greater than or equal to 0",
        ),
        (
            "/api/sample",
            {"model": "fast", "seed": 2**31},
            422,
            "seed: must be less than or equal to",
        ),
        (
            "/api/sample",
            {"model": "fast", "format": "gif"},
            422,
            "format: must be 'png', 'npy' or 'json'",
        ),
        ("/api/sample", {"model": "fast", "label": "3"}, 422, "unconditional"),
        ("/api/sample", {"model": "cfast", "label": "sneaker"}, 422, "no class 'sneaker'"),
        ("/api/sample", {"model": "../../etc/passwd"}, 404, "no model"),
        (
            "/api/interpolate",
            {"model": "fast", "steps": 65},
            422,
            "steps: must be less than or equal to 64",
        ),
        (
            "/api/interpolate",
            {"model": "fast", "steps": 1},
            422,
            "steps: must be greater than or equal to 2",
        ),
        ("/api/interpolate", {"model": "cfast"}, 422, "give label"),
        ("/api/interpolate", {"model": "cfast", "to_label": "3"}, 422, "give label"),
    ],
)
def test_bad_requests_are_explained(client, path, params, status, says):
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]


def test_a_failing_request_leaves_the_server_up(client, monkeypatch):
    served = client.app  # noqa: F841 - the same app keeps serving after the failure
    from mnist_gan.serve import models

    def broken(self, n, seed, label):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(models.ServedModel, "sample", broken)
    failed = client.get("/api/sample", params={"model": "fast"})
    assert failed.status_code == 500 and "simulated fault" in failed.json()["detail"]
    monkeypatch.undo()
    assert client.get("/api/sample", params={"model": "fast", "n": 1}).status_code == 200


def test_concurrent_requests_keep_their_own_seeds_and_models(client):
    def ask(i):
        model = ("cfast", "fast")[i % 2]
        params = {"model": model, "n": 4, "seed": i, "format": "npy"}
        return model, i, client.get("/api/sample", params=params).content

    alone = {(m, s): c for m, s, c in map(ask, range(8))}
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(ask, list(range(8)) * 3))
    for model, seed, content in together:
        assert content == alone[(model, seed)], (model, seed)


def test_the_openapi_schema_lists_the_api(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/models", "/api/sample", "/api/interpolate", "/healthz"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 404  # its UI would load scripts from a CDN


def test_the_page_and_its_assets_are_served_locally(client):
    page = client.get("/").text
    assert "static/app.js" in page and "static/style.css" in page  # relative: a prefix works
    assert "http://" not in page and "https://" not in page  # no CDN
    for asset in ("app.js", "style.css"):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200 and "http" not in response.text.replace("/api", "")
    assert json.loads(client.get("/api/models").text)
