"""The optional-runtime gate: skips only where setup.cfg's markers leave the package out."""

import pytest
from packaging.requirements import Requirement

from tests.runtimes import EXPORT_RUNTIMES, extra_requirements, gated_off, require

MAC_METAL = {"sys_platform": "darwin", "platform_machine": "arm64", "python_version": "3.11"}
LINUX = {"sys_platform": "linux", "platform_machine": "x86_64", "python_version": "3.11"}
MAC_INTEL = {"sys_platform": "darwin", "platform_machine": "x86_64", "python_version": "3.11"}
FAKE = [
    Requirement('no_such_runtime_xyz==1.0; sys_platform != "darwin"'),
    Requirement("always_there_xyz==1.0"),
]
TESTED = {m for modules in EXPORT_RUNTIMES.values() for m in modules} | {
    "imageio",
    "imageio_ffmpeg",
}


@pytest.mark.parametrize("module", sorted(TESTED))
def test_every_tested_runtime_is_installed_on_the_named_platforms(module):
    """The README install provides each runtime on every platform it names, so none skips there."""
    for platform_env in (
        LINUX,
        {**LINUX, "platform_machine": "aarch64", "python_version": "3.10"},
        {"sys_platform": "win32", "platform_machine": "AMD64", "python_version": "3.13"},
        MAC_METAL,
        {**MAC_METAL, "python_version": "3.13"},
        {**MAC_INTEL, "python_version": "3.10"},
        MAC_INTEL,
    ):
        assert not gated_off(module, environment=platform_env), (module, platform_env)
    intel_312 = {**MAC_INTEL, "python_version": "3.12"}
    # The one gap: ai-edge-litert has no macOS x86_64 wheel for cp312 (docs/install.md).
    assert gated_off(module, environment=intel_312) == (module == "ai_edge_litert"), module


def test_markers_decide_per_platform():
    assert gated_off("no_such_runtime_xyz", FAKE, MAC_METAL)
    assert not gated_off("no_such_runtime_xyz", FAKE, LINUX)
    assert not gated_off("always_there_xyz", FAKE, MAC_METAL)


def test_an_unlisted_package_is_a_test_bug():
    with pytest.raises(ValueError, match="does not name 'nothing-like-it'"):
        gated_off("nothing_like_it", FAKE)


def test_missing_and_gated_off_skips_with_the_reason():
    with pytest.raises(pytest.skip.Exception, match="leaves it out on darwin arm64"):
        require("no_such_runtime_xyz", requirements=FAKE, environment=MAC_METAL)


def test_missing_but_provided_fails():
    with pytest.raises(pytest.fail.Exception, match="missing but the README install provides"):
        require("no_such_runtime_xyz", requirements=FAKE, environment=LINUX)


def test_a_missing_runtime_fails_on_this_machine_when_the_install_provides_it():
    """Here (this interpreter's markers) onnxruntime is provided, so its absence is no skip."""
    requirements = [r for r in extra_requirements() if r.name == "onnxruntime"]
    requirements = [
        Requirement(str(r).replace("onnxruntime", "no_such_runtime_xyz")) for r in requirements
    ]
    with pytest.raises(pytest.fail.Exception):
        require("no_such_runtime_xyz", requirements=requirements)


def test_present_module_passes():
    require("numpy", requirements=[Requirement("numpy")])


def test_the_test_extra_parses_with_its_markers():
    names = {r.name for r in extra_requirements()}
    assert {"onnx", "onnxruntime", "ai-edge-litert", "imageio-ffmpeg"} <= names
    assert any(r.marker is not None for r in extra_requirements())
