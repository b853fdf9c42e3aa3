"""pytest set-up for the CPU tests: the library must be loadable (PERMJIT_LIBRARY or inside the
package), else every test fails with the loader's message instead of being skipped."""

import os
import tempfile
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption("--abi-layout", default=None,
                     help="the permjit_c_abi_layout executable (build/tests/capi)")
    parser.addoption("--permjit-cli", default=None,
                     help="the permjit command-line tool (build/bin/permjit)")
    parser.addoption("--repo-root", default=str(Path(__file__).resolve().parents[2]),
                     help="the repository root (docs/ examples are read from it)")


@pytest.fixture(scope="session")
def repo_root(request) -> Path:
    return Path(request.config.getoption("--repo-root"))


@pytest.fixture(scope="session")
def permjit_cli(request):
    path = request.config.getoption("--permjit-cli")
    return None if path is None else os.path.abspath(path)


@pytest.fixture(scope="session")
def abi_layout(request):
    return request.config.getoption("--abi-layout")


@pytest.fixture(scope="session")
def host_runtime():
    """A host-only sm_80 runtime: plans compile through NVRTC, runs are driver errors."""
    import permjit

    if "PERMJIT_CACHE_DIR" not in os.environ:
        os.environ["PERMJIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="permjit-pytest-")
    return permjit.Runtime(host_only=True, arch="sm_80")
