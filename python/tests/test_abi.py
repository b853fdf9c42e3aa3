"""The binding against the library it loads: struct layouts, error categories, the environment
registry."""

import ctypes
import json
import re
import subprocess
from pathlib import Path

import pytest

import permjit
from permjit import _lib, errors


def test_ctypes_structs_match_the_c_compiler(abi_layout):
    if abi_layout is None:
        pytest.fail("--abi-layout: not given (ctest passes build/tests/capi/permjit_c_abi_layout)")
    layout = json.loads(subprocess.run([abi_layout], check=True, capture_output=True,
                                       text=True).stdout)
    assert set(layout) == set(_lib.STRUCTS)
    for name, struct in _lib.STRUCTS.items():
        c = layout[name]
        assert ctypes.sizeof(struct) == c["size"], name
        mirrored = {field: getattr(struct, field).offset for field, _ in struct._fields_}
        assert mirrored == c["fields"], name


def test_error_classes_carry_the_c_api_categories():
    for status in range(1, 9):
        exception = errors.error_for_status(status, "message")
        assert exception.status == status
        assert exception.category == _lib.lib().permjit_status_name(status).decode()
        assert str(exception) == "message"
    assert isinstance(errors.error_for_status(99, "x"), permjit.InternalError)


def test_every_environment_variable_the_package_reads_is_registered():
    source = "".join(p.read_text() for p in Path(permjit.__file__).parent.glob("*.py"))
    read = set(re.findall(r'"(PERMJIT_[A-Z_]+)"', source))
    assert "PERMJIT_LIBRARY" in read
    registry = permjit.environment_variables()
    assert read <= set(registry), read - set(registry)


def test_the_library_exports_only_the_c_api():
    assert permjit.version() == permjit.__version__
    assert not hasattr(_lib.lib(), "_ZN7permjit6causalEv")  # permjit::causal() stays local


def test_the_readme_python_section_names_what_exists(repo_root):
    text = (repo_root / "README.md").read_text()
    block = text.split("## Python", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    imported = re.findall(r"from permjit import (.+)", block)
    names = {n.strip() for line in imported for n in line.split(",")}
    names |= set(re.findall(r"\bpermjit\.(\w+)", block)) - {"torch"}
    assert names and all(hasattr(permjit, n) for n in names), names
    assert {"Runtime", "Layout", "causal"} <= names
    for method in re.findall(r"\b(?:head|plan)\.(\w+)\(", block):
        assert hasattr(permjit.Pattern, method) or hasattr(permjit.Plan, method), method
    for name in re.findall(r"\bpjt\.(\w+)", block):
        assert name in ("plan_for", "attention"), name
    torch_source = (Path(permjit.__file__).parent / "torch.py").read_text()
    assert "def plan_for(" in torch_source and "def attention(" in torch_source
