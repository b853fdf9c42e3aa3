"""Per-model, per-layer, per-head configs (docs/model-config.md), read by the C++ reader.

    config = ModelConfig.load("llava-video-7b.json")
    config.pattern(layer=3, head=0)          # the head's Pattern
    config.layout(seq_len, request_layout)   # the request's Layout from the layout rules
"""

from __future__ import annotations

import json
import os

from . import _lib
from .errors import InvalidArgumentError


class ModelConfig:
    """A validated model config (strict reading: errors name the JSON path)."""

    __slots__ = ("_json", "_value")

    def __init__(self, value):
        text = value if isinstance(value, str) else json.dumps(value)
        self._json = _lib.call_text("permjit_model_config_canonical_json", text.encode())
        self._value = json.loads(self._json)

    @staticmethod
    def from_json(text) -> "ModelConfig":
        return ModelConfig(text.decode() if isinstance(text, bytes) else text)

    @staticmethod
    def load(path) -> "ModelConfig":
        with open(path, encoding="utf-8") as f:
            return ModelConfig(f.read())

    @staticmethod
    def coerce(value) -> "ModelConfig":
        """A ModelConfig, its JSON (text or dict), or the path of a config file."""
        if isinstance(value, ModelConfig):
            return value
        if isinstance(value, dict):
            return ModelConfig(value)
        if isinstance(value, (str, os.PathLike)):
            text = str(value)
            if text.lstrip().startswith("{"):
                return ModelConfig(text)
            return ModelConfig.load(text)
        raise InvalidArgumentError(
            f"config: a {type(value).__name__}; allowed: ModelConfig, JSON text or dict, a path")

    def to_json(self) -> str:
        return self._json

    def to_dict(self) -> dict:
        return json.loads(self._json)

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self._json)

    @property
    def model(self) -> str:
        return self._value["model"]

    @property
    def num_heads(self) -> int:
        return self._value["num_heads"]

    @property
    def layers(self) -> list[int]:
        """The configured layers, ascending."""
        return [entry["layer"] for entry in self._value["layers"]]

    @property
    def layout_rules(self) -> dict:
        return dict(self._value["layout_rules"])

    def head(self, layer: int, head: int) -> dict:
        """The head entry in the config's head form."""
        for entry in self._value["layers"]:
            if entry["layer"] == layer:
                for h in entry["heads"]:
                    if h["head"] == head:
                        return dict(h)
        self.pattern(layer, head)  # raises the C++ message naming what the config covers
        raise InvalidArgumentError(f"layer {layer} head {head}: not in the config")

    def pattern(self, layer: int, head: int):
        """patternFor(config, layer, head)."""
        from .dsl import Pattern

        return Pattern(_lib.call_text("permjit_model_config_pattern_json", self._json.encode(),
                                      _lib.require_int(layer, "layer", 32),
                                      _lib.require_int(head, "head", 32)))

    def layout(self, seq_len: int, request_layout=None):
        """layoutFor(rules, seq_len, request_layout): required for "request" rules."""
        from .layout import Layout, as_layout

        request = None if request_layout is None else as_layout(request_layout).to_json().encode()
        return Layout.from_json(_lib.call_text("permjit_model_config_layout_json",
                                               self._json.encode(),
                                               _lib.require_int(seq_len, "seq_len"), request))

    def __eq__(self, other) -> bool:
        return isinstance(other, ModelConfig) and self._json == other._json

    def __repr__(self) -> str:
        return f"ModelConfig({self.model!r}, heads={self.num_heads}, layers={self.layers})"
