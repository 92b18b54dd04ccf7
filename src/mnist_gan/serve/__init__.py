"""The generator behind a web page and an HTTP API: ``mnist-gan serve`` (docs/serve.md).

:mod:`.models` opens the models a server offers (by name, at start-up), :mod:`.app` is the ASGI
app (FastAPI on Starlette) with its page in ``static/``, :mod:`.server` runs it with uvicorn.
Nothing here is imported by ``import mnist_gan``.
"""
