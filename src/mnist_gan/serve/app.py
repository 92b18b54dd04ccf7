"""The HTTP API and the page: a Starlette app through FastAPI, served by uvicorn.

Routes: ``GET /`` (the page, ``static/index.html``: no CDN, every asset ships here),
``GET /api/models``, ``GET /api/sample``, ``GET /api/interpolate``, ``GET /healthz`` and the
OpenAPI schema at ``/openapi.json``. A model is named, never a path: only the models opened at
start-up (:mod:`mnist_gan.serve.models`) can be served. Limits: at most 1,024 images a request,
seeds 0..2^31 - 1, walks of 2..64 frames. An unknown model is a 404 naming those that exist;
a bad parameter a 422 with one sentence per problem; anything else a 500 that leaves the server
running.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, which name
# Query from inside create_app.
import io
import math
from importlib import resources
from typing import Annotated, Any, Literal

import numpy as np

from mnist_gan.errors import MNISTGANError
from mnist_gan.serve.models import ModelShelf, ServedModel, UnknownModelError

MAX_IMAGES = 1024
MAX_SEED = 2**31 - 1
MAX_STEPS = 64
GRID_SCALE = 2  # pixels per image pixel in PNG grids
STATIC = resources.files("mnist_gan.serve") / "static"
Format = Literal["png", "npy", "json"]


def create_app(shelf: ModelShelf) -> Any:
    """The ASGI app serving ``shelf``'s models (``uvicorn.run(create_app(shelf))``)."""
    from fastapi import FastAPI, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles

    app = FastAPI(
        title="mnist-gan",
        summary="Images from trained GANs: samples, classes and latent walks",
        docs_url=None,  # the interactive docs load their scripts from a CDN; the schema stays
        redoc_url=None,
    )
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": plain_errors(error.errors())}, status_code=422)

    @app.exception_handler(MNISTGANError)
    async def bad_value(request: Request, error: MNISTGANError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(UnknownModelError)
    async def unknown_model(request: Request, error: UnknownModelError) -> JSONResponse:
        detail = f"no model {error.args[0]!r}; the models here: {', '.join(shelf.names)}"
        return JSONResponse({"detail": detail, "models": shelf.names}, status_code=404)

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> JSONResponse:
        message = f"{type(error).__name__}: {error}"[:300]
        return JSONResponse({"detail": f"the request failed ({message})"}, status_code=500)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return STATIC.joinpath("index.html").read_text()

    @app.get("/healthz", summary="Liveness: ok and the models on offer")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "models": shelf.names}

    @app.get("/api/models", summary="The models on offer, with their classes, data and scores")
    def models() -> dict[str, Any]:
        return {"models": [model.describe() for model in shelf.models.values()]}

    @app.get("/api/sample", summary="Images from one model: a PNG grid, an .npy or JSON")
    def sample(
        model: Annotated[str, Query(description="a name from /api/models")],
        n: Annotated[int, Query(ge=1, le=MAX_IMAGES, description="how many images")] = 16,
        seed: Annotated[int, Query(ge=0, le=MAX_SEED, description="fixes the noise")] = 0,
        label: Annotated[str | None, Query(description="a class name or number")] = None,
        format: Annotated[
            Format, Query(description="png grid, npy (n, 28, 28) uint8, json")
        ] = "png",  # noqa: A002, E501
        columns: Annotated[int | None, Query(ge=1, le=64, description="png grid columns")] = None,
    ) -> Any:
        served = shelf.get(model)
        images, labels = served.sample(n, seed, served.label_index(label))
        name = f"{served.name}-seed{seed}" + (f"-{label}" if label else "")
        return respond(images, labels, format, name, columns, served)

    @app.get("/api/interpolate", summary="A latent walk from one seed's noise to another's")
    def interpolate(
        model: Annotated[str, Query(description="a name from /api/models")],
        seed: Annotated[int, Query(ge=0, le=MAX_SEED, description="the start (its sample)")] = 0,
        to_seed: Annotated[int, Query(ge=0, le=MAX_SEED, description="the walk's end")] = 1,
        steps: Annotated[int, Query(ge=2, le=MAX_STEPS, description="frames, ends included")] = 8,
        label: Annotated[str | None, Query(description="the class drawn")] = None,
        to_label: Annotated[str | None, Query(description="the second half's class")] = None,
        format: Annotated[
            Format, Query(description="png strip, npy (steps, 28, 28), json")
        ] = "png",  # noqa: A002, E501
    ) -> Any:
        served = shelf.get(model)
        start, end = served.label_index(label), served.label_index(to_label)
        if served.gan.conditional and start is None:
            raise MNISTGANError(f"model {served.name!r} is conditional: give label (a class)")
        if end is not None and start is None:
            raise MNISTGANError("to_label needs label (the class the walk starts as)")
        labels = None if start is None else start if end is None else (start, end)
        frames = served.walk(seed, to_seed, steps, labels)
        name = f"{served.name}-walk-{seed}-{to_seed}"
        return respond(frames, None, format, name, steps, served)

    return app


def plain_errors(errors: list[dict[str, Any]]) -> str:
    """FastAPI's validation errors as sentences: ``n: must be at most 1024 (got '5000')``."""
    sentences = []
    for error in errors:
        where = str(error.get("loc", ["", "?"])[-1])
        message = str(error.get("msg", "is not valid"))
        message = message.replace("Input should be", "must be")
        message = message.replace("Field required", "is required")
        got = error.get("input")
        shown = "" if got is None or isinstance(got, dict) else f" (got {got!r})"
        sentences.append(f"{where}: {message}{shown}")
    return "; ".join(sentences)


def respond(
    images: np.ndarray,
    labels: np.ndarray | None,
    fmt: str,
    name: str,
    columns: int | None,
    served: ServedModel,
) -> Any:
    """``images`` (uint8 ``(N, 28, 28)``) as the response ``fmt`` asks for."""
    from fastapi.responses import Response

    if fmt == "json":
        names = served.classes
        return {
            "model": served.name,
            "shape": list(images.shape),
            "images": images.tolist(),
            "labels": None if labels is None else [int(v) for v in labels],
            "classes": None if labels is None else [names[int(v)] for v in labels],
        }
    if fmt == "npy":
        buffer = io.BytesIO()
        np.save(buffer, images)
        headers = {"Content-Disposition": f'attachment; filename="{name}.npy"'}
        return Response(buffer.getvalue(), media_type="application/octet-stream", headers=headers)
    headers = {"Content-Disposition": f'inline; filename="{name}.png"'}
    return Response(grid_png(images, columns), media_type="image/png", headers=headers)


def grid_png(images: np.ndarray, columns: int | None = None, scale: int = GRID_SCALE) -> bytes:
    """uint8 ``(N, 28, 28)`` images as one PNG grid (``columns`` wide; None: near-square)."""
    from PIL import Image

    from mnist_gan.data.images import make_grid

    columns = columns or math.ceil(math.sqrt(len(images)))
    grid = Image.fromarray(make_grid(images, min(columns, len(images))))
    grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    return buffer.getvalue()
