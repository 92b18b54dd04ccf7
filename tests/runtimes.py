"""Optional runtimes (onnxruntime, ai-edge-litert, tf2onnx, imageio-ffmpeg...) in the tests.

A test that needs one calls ``require(...)``. It is skipped only where the README install leaves
that package out on purpose: no line of setup.cfg's ``test`` extra for it has environment markers
that hold on this platform and Python. Anywhere the install provides the package, a missing module
fails the test instead, so CI's Linux runs every test (docs/install.md has the matrix).
"""

from __future__ import annotations

import configparser
import importlib
from collections.abc import Mapping
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

SETUP_CFG = Path(__file__).resolve().parent.parent / "setup.cfg"

# What each export format needs at test time: its converters and the runtime that loads it.
EXPORT_RUNTIMES = {
    "saved_model": (),
    "onnx": ("tf2onnx", "onnx", "onnxruntime"),
    "litert": ("ai_edge_litert",),
}


def extra_requirements(setup_cfg: Path = SETUP_CFG) -> list[Requirement]:
    """The requirements of setup.cfg's ``test`` extra, markers included (comments dropped)."""
    parser = configparser.ConfigParser()
    parser.read(setup_cfg)
    lines = parser["options.extras_require"]["test"].splitlines()
    stripped = (line.split(" #", 1)[0].strip() for line in lines)
    return [Requirement(line) for line in stripped if line and not line.startswith("#")]


def gated_off(
    module: str,
    requirements: list[Requirement] | None = None,
    environment: Mapping[str, str] | None = None,
) -> bool:
    """Whether the install leaves ``module``'s package out here (or in ``environment``).

    ``module`` is an import name (``ai_edge_litert``), matched to its package name
    (``ai-edge-litert``). Raises ValueError when the test extra does not name the package at all:
    then a test needs something the README install never provides, which is a bug in the test.
    """
    requirements = extra_requirements() if requirements is None else requirements
    name = canonicalize_name(module)
    lines = [r for r in requirements if canonicalize_name(r.name) == name]
    if not lines:
        raise ValueError(f"setup.cfg's test extra does not name {name!r}")
    env = dict(environment or {})
    return not any(r.marker is None or r.marker.evaluate(env) for r in lines)


def require(
    *modules: str,
    requirements: list[Requirement] | None = None,
    environment: Mapping[str, str] | None = None,
) -> None:
    """Import ``modules``; skip the calling test if one is absent and gated off here, else fail.

    ``requirements`` defaults to setup.cfg's test extra, ``environment`` (marker variables such as
    ``sys_platform``) to this interpreter's.
    """
    env = {**default_environment(), **(environment or {})}
    where = f"{env['sys_platform']} {env['platform_machine']}, Python {env['python_full_version']}"
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            if gated_off(module, requirements, env):
                pytest.skip(f"{module}: the README install leaves it out on {where} (setup.cfg)")
            pytest.fail(
                f"{module} is missing but the README install provides it on {where}: "
                f"pip install -r requirements.txt ({exc})"
            )


def available(*modules: str) -> bool:
    """Whether every one of ``modules`` imports here (for fixtures that build optional cases)."""
    try:
        for module in modules:
            importlib.import_module(module)
    except ImportError:
        return False
    return True
