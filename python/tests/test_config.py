"""Model configs read by the C++ reader: patterns per head, layouts per request, strict errors."""

import json

import pytest

import permjit
from permjit import Layout, ModelConfig, a_shape, causal, grid_head


@pytest.fixture(scope="module")
def documented(repo_root):
    text = (repo_root / "docs" / "model-config.md").read_text()
    return json.loads(text.split("```json", 1)[1].split("```", 1)[0])


def test_the_documented_config(documented):
    config = ModelConfig(documented)
    assert (config.model, config.num_heads, config.layers) == ("llava-video-7b", 4, [0])
    assert config.pattern(0, 1) == a_shape(64, 1024)
    assert config.pattern(0, 2) == causal()
    assert config.pattern(0, 0) == grid_head(14, 0, 3, sink=64, local=64, trailing_text_rows=30)
    assert config.layout(1000) == Layout.text_vision_text(1000, 64, 30)
    assert ModelConfig.from_json(config.to_json()) == config
    assert config.head(0, 1)["type"] == "a_shape"


def test_unknown_heads_and_layers(documented):
    bad = json.loads(json.dumps(documented))
    bad["layers"][0]["heads"][1]["type"] = "spiral"
    with pytest.raises(permjit.InvalidPatternError, match="unknown head type 'spiral'"):
        ModelConfig(bad)
    with pytest.raises(permjit.InvalidArgumentError, match="layer"):
        ModelConfig(documented).pattern(5, 0)


def test_indices_past_a_c_int_are_errors_not_wrapped(documented):
    # ctypes would pass 2**32 + 1 to the C API as 1: layer 1 of the config, silently.
    with pytest.raises(permjit.InvalidArgumentError, match="layer: 4294967297 is out of range"):
        ModelConfig(documented).pattern(2**32 + 1, 0)
    with pytest.raises(permjit.InvalidArgumentError, match="head: -4294967296 is out of range"):
        ModelConfig(documented).pattern(0, -(2**32))


def test_request_layout_rules(documented):
    value = json.loads(json.dumps(documented))
    value["layout_rules"] = {"kind": "request"}
    config = ModelConfig(value)
    request = Layout([("vision", 0, 10)])
    assert config.layout(10, request) == request


def test_save_and_load(documented, tmp_path):
    config = ModelConfig(documented)
    config.save(tmp_path / "c.json")
    assert ModelConfig.coerce(str(tmp_path / "c.json")) == config
