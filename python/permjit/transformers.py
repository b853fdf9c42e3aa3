"""permjit for Hugging Face transformers: an attention function for its AttentionInterface.

    import permjit.transformers as pjtf
    handle = pjtf.enable(model, "qwen2.5-vl-7b.json")   # a ModelConfig, its JSON or a path
    model(**inputs)            # pre-fill: each configured decoder layer's heads through permjit
    model.generate(**inputs)   # decode steps: SDPA
    handle.stats               # Counter per call: "permjit", "sdpa: decode (one query row)", ...
    handle.remove()            # the model's previous attention implementation again

- Registered as "permjit" in transformers' AttentionInterface (and, for the masks the model
  builds, as SDPA's mask function under the same name, so a plain causal pre-fill gets no mask
  and padding still gets one).
- Per layer, per head patterns come from a permjit model config (docs/model-config.md). Heads
  with equal patterns run as one call of the permjit.torch op; GQA is the op's (kv head
  h // num_key_value_groups). A layer with several such groups runs them concurrently on up
  to `group_streams` (default 4) CUDA streams forked from the current one and joined back
  (CUDA-graph capturable; group_streams=1 runs them one after another).
- The modality layout of each request comes from its input_ids: runs of the model config's
  image / video token ids (image_token_id, video_token_id, image_token_index,
  video_token_index: Qwen2-VL, Qwen2.5-VL, LLaVA, LLaVA-NeXT-Video, LLaVA-OneVision) are
  vision spans, everything else text; the model config's layout rules then decide (a "request"
  rule takes it as is). handle.layout(...) sets it by hand (inputs_embeds, or torch.compile'd
  models, where the input_ids hook cannot read the ids).
- SDPA (transformers' own "sdpa" function) wherever permjit does not apply: decode (one query
  row) and a cached prefix (q_len != kv_len), an attention mask (padding), sliding windows,
  softcap, dropout in training, autograd, CPU tensors, dtypes other than bf16/fp16, modules
  that are not the configured decoder layers (vision towers), layers the config does not list,
  and requests without vision tokens. handle.stats counts each decision.
- Planning happens here, outside the op: plans per (layer, head dim, dtype, device) and
  layouts per (seq_len, request layout), both cached.
- capture_qk(model, directory) records the post-RoPE q and k each decoder layer's attention
  receives as the .npy files `permjit search` reads.

backend="reference" runs the same decisions and head groups through SDPA with each pattern's
reference mask (Pattern.mask: O(S^2) memory, CPU or GPU): what the checks compare against.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from . import torch as pjt
from .config import ModelConfig
from .errors import InvalidArgumentError, PermjitError, UnsupportedError
from .layout import Layout, as_layout

ATTENTION_NAME = "permjit"
VISION_TOKEN_ATTRIBUTES = ("image_token_id", "video_token_id", "image_token_index",
                           "video_token_index")
_HANDLER_ATTRIBUTE = "_permjit_attention_handler"
_CACHE_ENTRIES = 256  # layouts / reference masks kept per handle (sequence lengths vary)


def _interfaces():
    """transformers' AttentionInterface and AttentionMaskInterface (4.53 and later)."""
    try:
        import transformers
        from transformers.masking_utils import AttentionMaskInterface
        from transformers.modeling_utils import AttentionInterface
    except ImportError as error:
        raise UnsupportedError(
            f"transformers: {error}; permjit.transformers needs transformers >= 4.53 (its "
            "AttentionInterface and masking_utils.AttentionMaskInterface)") from None
    del transformers
    return AttentionInterface, AttentionMaskInterface


def sdpa_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                   **kwargs):
    """transformers' own SDPA attention function (masks, GQA, is_causal, cached prefixes)."""
    attention_interface, _ = _interfaces()
    sdpa = attention_interface()["sdpa"]
    return sdpa(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                **kwargs)


def attention_function(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                       **kwargs):
    """The function registered as "permjit": the module's handler (enable, capture_qk), else
    SDPA. query [b, h, s, d] (post-RoPE), key / value [b, kv_heads, kv_len, d]; returns
    (attn_output [b, s, h, d], None)."""
    handler = module.__dict__.get(_HANDLER_ATTRIBUTE)
    if handler is None:
        return sdpa_attention(module, query, key, value, attention_mask, scaling=scaling,
                              dropout=dropout, **kwargs)
    return handler(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout,
                   **kwargs)


def register(name: str = ATTENTION_NAME) -> None:
    """Registers attention_function as `name` (idempotent), with SDPA's mask function."""
    attention_interface, mask_interface = _interfaces()
    attention_interface.register(name, attention_function)
    mask_interface.register(name, mask_interface()["sdpa"])


def vision_token_ids(model_config) -> tuple[int, ...]:
    """The image / video token ids a transformers config names (VISION_TOKEN_ATTRIBUTES)."""
    ids: list[int] = []
    for attribute in VISION_TOKEN_ATTRIBUTES:
        value = getattr(model_config, attribute, None)
        if isinstance(value, int) and value >= 0 and value not in ids:
            ids.append(value)
    return tuple(ids)


def layouts_from_input_ids(input_ids, vision_ids) -> list[Layout]:
    """One Layout per batch row of input_ids ([batch, seq] or [seq]): runs of vision_ids are
    vision spans, the rest text."""
    if not vision_ids:
        raise InvalidArgumentError("vision_ids: none; the model config names no image or "
                                   "video token id (give vision_ids=)")
    ids = input_ids.detach().to("cpu") if isinstance(input_ids, torch.Tensor) else \
        torch.as_tensor(input_ids)
    if ids.dim() == 1:
        ids = ids.unsqueeze(0)
    if ids.dim() != 2:
        raise InvalidArgumentError(f"input_ids: {ids.dim()}-d; allowed: [batch, seq] or [seq]")
    return [Layout.from_token_ids(row.numpy(), vision_ids) for row in ids]


def decoder_attention_modules(model) -> dict[int, torch.nn.Module]:
    """The decoder self-attention modules by layer index: modules with an integer layer_idx,
    num_key_value_groups and a true is_causal (vision towers have no layer_idx or are not
    causal)."""
    found: dict[int, torch.nn.Module] = {}
    for module in model.modules():
        layer = getattr(module, "layer_idx", None)
        if (isinstance(layer, int) and hasattr(module, "num_key_value_groups")
                and getattr(module, "is_causal", False) is True):
            if layer in found:
                raise InvalidArgumentError(
                    f"model: two attention modules claim layer_idx {layer} "
                    f"({type(found[layer]).__name__}, {type(module).__name__})")
            found[layer] = module
    if not found:
        raise InvalidArgumentError(
            f"model: {type(model).__name__} has no decoder attention module (layer_idx, "
            "num_key_value_groups, is_causal) that permjit.transformers knows")
    return found


def config_for_model(model, head=None, *, layers=None, name: str | None = None,
                     layout_rules: dict | None = None) -> ModelConfig:
    """A model config over this model's decoder layers: `head` (a head entry of
    docs/model-config.md, default {"type": "dense"}, or a function (layer, head) -> entry) for
    every head of `layers` (default all); layout rules default {"kind": "request"}."""
    modules = decoder_attention_modules(model)
    num_heads = _num_heads(next(iter(modules.values())))
    chosen = sorted(modules) if layers is None else sorted(layers)
    head = {"type": "dense"} if head is None else head
    entry = head if callable(head) else (lambda layer, index: head)
    return ModelConfig({
        "permjit_model_config": 1,
        "model": name or getattr(model.config, "model_type", type(model).__name__),
        "num_heads": num_heads,
        "layout_rules": layout_rules or {"kind": "request"},
        "layers": [{"layer": layer,
                    "heads": [dict(entry(layer, h), head=h) for h in range(num_heads)]}
                   for layer in chosen],
    })


def _num_heads(module) -> int:
    for attribute in ("num_heads", "num_attention_heads"):
        value = getattr(module, attribute, None)
        if isinstance(value, int):
            return value
    config = getattr(module, "config", None)
    value = getattr(config, "num_attention_heads", None)
    if isinstance(value, int):
        return value
    raise InvalidArgumentError(f"{type(module).__name__}: no num_heads / num_attention_heads")


@dataclass(frozen=True)
class HeadGroup:
    """Heads of one layer with one pattern (ascending), and the plan they run with."""
    heads: tuple[int, ...]
    pattern: object
    plan: object = None  # a permjit.Plan (backend "permjit"), None for "reference"


@dataclass(frozen=True)
class Decision:
    """What one attention call does: reason None runs `groups` over `layouts` (one per batch
    row, or one for every row); otherwise SDPA, for that reason."""
    reason: str | None
    layer: int | None = None
    groups: tuple[HeadGroup, ...] = ()
    layouts: tuple[Layout, ...] = ()


class _ModelHooks:
    """The model's attention implementation set to "permjit", handlers on its decoder
    attention modules and the input_ids hook, all undone by remove()."""

    def __init__(self, model, handler, vision_ids):
        register()
        self.model = model
        self.vision_ids = tuple(vision_token_ids(model.config) if vision_ids is None
                                else vision_ids)
        self.modules = decoder_attention_modules(model)
        self._previous_handlers = {}
        for module in self.modules.values():
            self._previous_handlers[module] = module.__dict__.get(_HANDLER_ATTRIBUTE)
            module.__dict__[_HANDLER_ATTRIBUTE] = handler
        self._previous_implementation = getattr(model.config, "_attn_implementation", None)
        _set_attention_implementation(model, ATTENTION_NAME)
        self._request: tuple[int, tuple[Layout, ...]] | None = None
        self._override: tuple[Layout, ...] | None = None
        self._hooks = [
            model.register_forward_pre_hook(self._read_input_ids, with_kwargs=True),
            model.register_forward_hook(self._forget_request, with_kwargs=True, always_call=True),
        ]

    def _read_input_ids(self, module, args, kwargs):
        input_ids = kwargs.get("input_ids")
        if input_ids is None and args and isinstance(args[0], torch.Tensor):
            input_ids = args[0]
        if (isinstance(input_ids, torch.Tensor) and input_ids.dim() == 2
                and not input_ids.is_floating_point() and self.vision_ids
                and input_ids.shape[1] > 1):  # decode steps (one id) fall back anyway
            self._request = (input_ids.shape[1],
                             tuple(layouts_from_input_ids(input_ids, self.vision_ids)))
        else:
            self._request = None

    def _forget_request(self, module, args, kwargs, output):
        self._request = None

    def request_layouts(self, seq_len: int) -> tuple[Layout, ...] | None:
        """The running forward's layouts (per batch row) when they are for seq_len."""
        if self._override is not None:
            return self._override
        if self._request is not None and self._request[0] == seq_len:
            return self._request[1]
        return None

    @contextlib.contextmanager
    def layout(self, layouts):
        """Every attention call inside uses these request layouts (one Layout for every batch
        row, or a list with one per row) instead of the ones read from input_ids."""
        if isinstance(layouts, (list, tuple)) and layouts and all(
                isinstance(x, Layout) for x in layouts):
            values = tuple(layouts)
        else:
            values = (as_layout(layouts),)
        previous, self._override = self._override, values
        try:
            yield
        finally:
            self._override = previous

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        for module, previous in self._previous_handlers.items():
            if previous is None:
                module.__dict__.pop(_HANDLER_ATTRIBUTE, None)
            else:
                module.__dict__[_HANDLER_ATTRIBUTE] = previous
        self._previous_handlers = {}
        if self._previous_implementation is not None:
            _set_attention_implementation(self.model, self._previous_implementation)


def _set_attention_implementation(model, name: str) -> None:
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(name)
        return
    # transformers before set_attn_implementation: the config attribute every layer reads.
    configs = [model.config] + [getattr(model.config, key) for key in
                                getattr(model.config, "sub_configs", {}) or {}]
    for config in configs:
        if config is not None:
            config._attn_implementation = name


class PermjitAttention:
    """The handler of enable(): one model config's patterns applied to a model's decoder
    layers (see the module docstring)."""

    def __init__(self, config, *, runtime=None, backend: str = "permjit",
                 pass_split: str = "auto", group_streams: int = 4):
        if backend not in ("permjit", "reference"):
            raise InvalidArgumentError(f"backend: {backend!r}; allowed: 'permjit', 'reference'")
        if isinstance(group_streams, bool) or not isinstance(group_streams, int) \
                or not 1 <= group_streams <= 32:
            raise InvalidArgumentError(
                f"group_streams: {group_streams!r}; allowed: an int in 1..32")
        self.group_streams = group_streams
        self._side_streams: dict[torch.device, list] = {}
        self.config = ModelConfig.coerce(config)
        self.runtime = runtime
        self.backend = backend
        self.pass_split = pass_split
        self.stats: Counter = Counter()
        self.hooks: _ModelHooks | None = None
        self._layers = frozenset(self.config.layers)
        self._rule_kind = self.config.layout_rules["kind"]
        self._layer_groups: dict[int, tuple[tuple[tuple[int, ...], object], ...]] = {}
        self._plans: dict[tuple, object] = {}
        self._layer_plans: dict[tuple, tuple[HeadGroup, ...]] = {}
        self._layouts: OrderedDict = OrderedDict()
        self._masks: OrderedDict = OrderedDict()

    # ---- planning (outside the op) -------------------------------------------------------
    def head_patterns(self, layer: int):
        """((heads, pattern), ...) of one configured layer: heads with equal patterns together,
        in order of their first head."""
        groups = self._layer_groups.get(layer)
        if groups is None:
            by_pattern: dict[str, list] = {}
            for head in range(self.config.num_heads):
                pattern = self.config.pattern(layer, head)
                by_pattern.setdefault(pattern.to_json(), [pattern, []])[1].append(head)
            groups = tuple((tuple(heads), pattern) for pattern, heads in by_pattern.values())
            self._layer_groups[layer] = groups
        return groups

    def _plan(self, pattern, head_dim: int, dtype: torch.dtype, device: torch.device):
        key = (pattern.to_json(), head_dim, dtype, device)
        plan = self._plans.get(key)
        if plan is None:
            if self.runtime is None:
                plan = pjt.plan_for(pattern, head_dim=head_dim, dtype=dtype, device=device,
                                    pass_split=self.pass_split)
            else:
                plan = self.runtime.plan(pattern, head_dim=head_dim,
                                         dtype=pjt._DTYPES[dtype], pass_split=self.pass_split)
            self._plans[key] = plan
        return plan

    def layer_plan(self, layer: int, head_dim: int, dtype: torch.dtype,
                   device: torch.device) -> tuple[HeadGroup, ...]:
        key = (layer, head_dim, dtype, device)
        groups = self._layer_plans.get(key)
        if groups is None:
            groups = tuple(
                HeadGroup(heads, pattern, None if self.backend == "reference"
                          else self._plan(pattern, head_dim, dtype, device))
                for heads, pattern in self.head_patterns(layer))
            self._layer_plans[key] = groups
        return groups

    def _layout(self, seq_len: int, request: Layout | None) -> Layout | str:
        """The layout rules' layout for this request, or why there is none."""
        if request is not None and request.count("vision") == 0:
            return "no vision tokens in the input"
        if request is None and self._rule_kind == "request":
            return "no request layout (no input_ids with image/video tokens; see layout())"
        key = (seq_len, None if request is None else request.to_json())
        layout = self._layouts.get(key)
        if layout is None:
            try:
                layout = self.config.layout(seq_len, request)
            except PermjitError as error:
                layout = f"layout rules: {error}"
            self._layouts[key] = layout
            if len(self._layouts) > _CACHE_ENTRIES:
                self._layouts.popitem(last=False)
        if isinstance(layout, Layout) and layout.count("vision") == 0:
            return "no vision span in the layout"
        return layout

    def decide(self, module, query, key, attention_mask=None, *, dropout: float = 0.0,
               **kwargs) -> Decision:
        """What a call with these arguments does (no kernel runs): permjit's head groups and
        layouts, or the reason for SDPA."""
        layer = getattr(module, "layer_idx", None)
        q_len, kv_len = query.shape[2], key.shape[2]
        if q_len == 1:
            return Decision("decode (one query row)", layer)
        if q_len != kv_len:
            return Decision("q_len != kv_len (a cached prefix)", layer)
        if kwargs.get("is_causal", getattr(module, "is_causal", True)) is False:
            return Decision("not causal", layer)
        if attention_mask is not None:
            return Decision("an attention mask (padding or a custom mask)", layer)
        for option in ("sliding_window", "softcap", "position_bias"):
            if kwargs.get(option) is not None:
                return Decision(f"{option} (permjit's patterns have none)", layer)
        if kwargs.get("output_attentions"):
            return Decision("output_attentions", layer)
        if dropout and getattr(module, "training", False):
            return Decision("dropout in training", layer)
        if torch.is_grad_enabled() and any(t.requires_grad for t in (query, key)):
            return Decision("autograd (permjit has no backward)", layer)
        if self.backend == "permjit":
            if query.device.type != "cuda":
                return Decision(f"{query.device.type} tensors", layer)
            if query.dtype not in pjt._DTYPES:
                return Decision(f"dtype {pjt.dtype_name(query.dtype)} (permjit runs bf16, "
                                "fp16)", layer)
        if layer not in self._layers:
            return Decision(f"layer {layer} not in the model config", layer)
        if query.shape[1] != self.config.num_heads:
            raise InvalidArgumentError(
                f"layer {layer}: {query.shape[1]} query heads; the model config "
                f"{self.config.model!r} has num_heads {self.config.num_heads}")
        requests = self.hooks.request_layouts(q_len) if self.hooks is not None else None
        batch = query.shape[0]
        if requests is not None and len(requests) not in (1, batch):
            raise InvalidArgumentError(
                f"layouts: {len(requests)} for a batch of {batch}; allowed: 1 or {batch}")
        layouts = []
        for request in (requests or (None,)):
            layout = self._layout(q_len, request)
            if isinstance(layout, str):
                return Decision(layout, layer)
            layouts.append(layout)
        if len(set(layouts)) == 1:
            layouts = layouts[:1]
        try:
            groups = self.layer_plan(layer, query.shape[-1], query.dtype, query.device)
        except UnsupportedError as error:  # e.g. a head dim permjit has no kernels for
            return Decision(f"unsupported: {error}", layer)
        return Decision(None, layer, groups, tuple(layouts))

    # ---- running ----------------------------------------------------------------------------
    def __call__(self, module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                 **kwargs):
        decision = self.decide(module, query, key, attention_mask, dropout=dropout, **kwargs)
        if decision.reason is not None:
            self.stats[f"sdpa: {decision.reason}"] += 1
            return sdpa_attention(module, query, key, value, attention_mask, scaling=scaling,
                                  dropout=dropout, **kwargs)
        self.stats[self.backend] += 1
        if len(decision.layouts) == 1:
            return self.run(decision, query, key, value, decision.layouts[0], scaling), None
        rows = [self.run(decision, query[b:b + 1], key[b:b + 1], value[b:b + 1], layout,
                         scaling) for b, layout in enumerate(decision.layouts)]
        return torch.cat(rows, dim=0), None

    def run(self, decision: Decision, query, key, value, layout: Layout, scaling):
        """Every head group of the decision over one layout: [b, s, h, d]."""
        heads, kv_heads = query.shape[1], key.shape[1]
        if heads % kv_heads:
            raise InvalidArgumentError(f"kv heads {kv_heads} do not divide heads {heads}")
        per_kv = heads // kv_heads
        if len(decision.groups) == 1:
            out = self._run_group(decision.groups[0], query, key, value, layout, scaling)
            return out.transpose(1, 2)
        b, _, s, d = query.shape
        result = query.new_empty(b, s, heads, value.shape[-1])
        with self._concurrent_groups(query.device, len(decision.groups)) as on_stream:
            for index, group in enumerate(decision.groups):
                with on_stream(index, result):
                    self._run_into(result, group, query, key, value, layout, scaling, per_kv)
        return result

    @contextlib.contextmanager
    def _concurrent_groups(self, device: torch.device, groups: int):
        """Runs head groups on up to group_streams side streams that fork from and join back
        into the current stream: a group's launches are short and end in a long tail (rows
        that attend to every key: trailing text rows, a grid's hlines), which the GPU then
        spends mostly idle; concurrent groups fill it. The joins order every later use of the
        result and the inputs after the groups' work, so the caching allocator's stream
        semantics hold (the result is also recorded on each side stream it was written on)."""
        if (self.backend != "permjit" or device.type != "cuda" or self.group_streams < 2
                or groups < 2):
            yield lambda index, result: contextlib.nullcontext()
            return
        side = self._side_streams.get(device)
        if side is None:
            side = [torch.cuda.Stream(device=device) for _ in range(self.group_streams)]
            self._side_streams[device] = side
        main = torch.cuda.current_stream(device)
        used = side[:min(groups, len(side))]
        for stream in used:
            stream.wait_stream(main)

        @contextlib.contextmanager
        def on_stream(index, result):
            stream = used[index % len(used)]
            with torch.cuda.stream(stream):
                yield
            result.record_stream(stream)

        try:
            yield on_stream
        finally:
            for stream in used:
                main.wait_stream(stream)

    def _run_into(self, result, group: HeadGroup, query, key, value, layout, scaling,
                  per_kv: int):
        """One head group's output into its heads of result [b, s, h, d]."""
        first, last = group.heads[0], group.heads[-1] + 1
        if (len(group.heads) == last - first and first % per_kv == 0
                and last % per_kv == 0):  # whole GQA groups in a row: views, no copies
            out = self._run_group(group, query[:, first:last],
                                  key[:, first // per_kv:last // per_kv],
                                  value[:, first // per_kv:last // per_kv], layout, scaling)
            result[:, :, first:last] = out.transpose(1, 2)
        else:  # scattered heads: gather them, with one kv head each
            index = torch.tensor(group.heads, device=query.device)
            kv_index = torch.div(index, per_kv, rounding_mode="floor")
            out = self._run_group(group, query.index_select(1, index),
                                  key.index_select(1, kv_index),
                                  value.index_select(1, kv_index), layout, scaling)
            result[:, :, index] = out.transpose(1, 2)

    def _run_group(self, group: HeadGroup, query, key, value, layout, scaling):
        """One group's attention, [b, h_group, s, d]."""
        if self.backend == "permjit":
            return pjt.attention(query, key, value, group.plan, layout=layout,
                                 softmax_scale=scaling)
        return self._reference(group, query, key, value, layout, scaling)

    def _reference(self, group: HeadGroup, query, key, value, layout, scaling):
        seq_len = query.shape[2]
        key_ = (group.pattern.to_json(), layout, seq_len, query.device)
        mask = self._masks.get(key_)
        if mask is None:
            if group.pattern.is_dynamic:
                raise UnsupportedError(
                    f"backend 'reference': {group.pattern} is dynamic (its indices are chosen "
                    "per input on the GPU); the reference backend runs static patterns")
            mask = torch.from_numpy(group.pattern.mask(layout, seq_len).copy()).to(query.device)
            self._masks[key_] = mask
            if len(self._masks) > 8:
                self._masks.popitem(last=False)
        per_kv = query.shape[1] // key.shape[1]
        if per_kv > 1:
            key = key.repeat_interleave(per_kv, dim=1)
            value = value.repeat_interleave(per_kv, dim=1)
        out = torch.nn.functional.scaled_dot_product_attention(query, key, value,
                                                               attn_mask=mask, scale=scaling)
        return out.nan_to_num(0.0)  # rows a pattern keeps nothing of: 0, as permjit writes


class Handle:
    """What enable() returns: the handler (stats, decide, config) and remove()."""

    def __init__(self, attention: PermjitAttention, hooks: _ModelHooks):
        self.attention = attention
        self.hooks = hooks

    @property
    def stats(self) -> Counter:
        return self.attention.stats

    @property
    def config(self) -> ModelConfig:
        return self.attention.config

    @property
    def modules(self) -> dict[int, torch.nn.Module]:
        return self.hooks.modules

    def layout(self, layouts):
        return self.hooks.layout(layouts)

    def remove(self) -> None:
        self.hooks.remove()
        self.attention.hooks = None


def enable(model, config, *, runtime=None, backend: str = "permjit",
           vision_ids=None, pass_split: str = "auto", group_streams: int = 4) -> Handle:
    """Runs `model`'s decoder layers through permjit with `config` (a ModelConfig, its JSON or
    a path). vision_ids: the image / video token ids (default: those model.config names).
    runtime: the permjit.Runtime to plan with (default: each device's default runtime).
    backend "reference": SDPA with each pattern's mask instead of the kernels (checks).
    group_streams: a layer whose heads form several groups (patterns) runs them concurrently
    on up to this many CUDA streams forked from the current one (1: one after another on the
    current stream; results are the same bits either way)."""
    attention = PermjitAttention(config, runtime=runtime, backend=backend,
                                 pass_split=pass_split, group_streams=group_streams)
    modules = decoder_attention_modules(model)
    heads = _num_heads(next(iter(modules.values())))
    if heads != attention.config.num_heads:
        raise InvalidArgumentError(
            f"config: num_heads {attention.config.num_heads}; the model's decoder layers have "
            f"{heads} query heads")
    missing = [layer for layer in attention.config.layers if layer not in modules]
    if missing:
        raise InvalidArgumentError(
            f"config: layers {missing} are not decoder layers of the model (it has "
            f"{min(modules)}..{max(modules)})")
    hooks = _ModelHooks(model, attention, vision_ids)
    attention.hooks = hooks
    return Handle(attention, hooks)


# ---- capture for `permjit search` --------------------------------------------------------------
class Capture:
    """Records the post-RoPE q and k that each decoder layer's attention receives during
    pre-fill (q_len == kv_len > 1), one calibration input per batch row and forward call:

        DIR/layer_{L}/q_{N}.npy   float32 [heads, S, head_dim]
        DIR/layer_{L}/k_{N}.npy   float32 [kv_heads, S, head_dim]
        DIR/layout_{N}.json       the request's layout ({"spans": [...]}, from input_ids)
        DIR/capture.json          the inputs, and per layer the `permjit search` command

    The attention itself runs on: through the handler enable() installed, else SDPA."""

    def __init__(self, model, directory, *, layers=None, vision_ids=None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.model = model
        self.layers = None if layers is None else frozenset(layers)
        self.inputs: list[dict] = []  # per input: seq_len, layout file
        # layer -> [(input index, q file, k file)], the files relative to the directory
        self.files: dict[int, list[tuple[int, str, str]]] = {}
        modules = decoder_attention_modules(model)
        self._inner = {m: m.__dict__.get(_HANDLER_ATTRIBUTE) for m in modules.values()}
        self.hooks = _ModelHooks(model, self, vision_ids)
        self._forward_inputs: dict[int, int] = {}  # batch row -> input index, this forward
        self._forward_hook = model.register_forward_pre_hook(self._new_forward, with_kwargs=True)

    def _new_forward(self, module, args, kwargs):
        self._forward_inputs = {}

    def _input_index(self, row: int, seq_len: int) -> int:
        index = self._forward_inputs.get(row)
        if index is None:
            index = len(self.inputs)
            requests = self.hooks.request_layouts(seq_len)
            layout = None
            if requests is not None:
                layout = requests[row] if len(requests) > 1 else requests[0]
            entry = {"seq_len": seq_len, "layout": None}
            if layout is not None:
                name = f"layout_{index:04d}.json"
                (self.directory / name).write_text(layout.to_json() + "\n")
                entry["layout"] = name
            self.inputs.append(entry)
            self._forward_inputs[row] = index
        return index

    def __call__(self, module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                 **kwargs):
        import numpy as np

        layer = module.layer_idx
        if (query.shape[2] == key.shape[2] > 1
                and (self.layers is None or layer in self.layers)):
            folder = self.directory / f"layer_{layer}"
            folder.mkdir(exist_ok=True)
            for row in range(query.shape[0]):
                index = self._input_index(row, query.shape[2])
                q_name = f"layer_{layer}/q_{index:04d}.npy"
                k_name = f"layer_{layer}/k_{index:04d}.npy"
                np.save(self.directory / q_name,
                        query[row].detach().float().cpu().contiguous().numpy())
                np.save(self.directory / k_name,
                        key[row].detach().float().cpu().contiguous().numpy())
                self.files.setdefault(layer, []).append((index, q_name, k_name))
        inner = self._inner.get(module)
        if inner is None:
            return sdpa_attention(module, query, key, value, attention_mask, scaling=scaling,
                                  dropout=dropout, **kwargs)
        return inner(module, query, key, value, attention_mask, scaling=scaling,
                     dropout=dropout, **kwargs)

    def search_command(self, layer: int, output: str = "config.json", *,
                       model: str | None = None) -> list[str]:
        """The `permjit search` arguments for one layer's captured inputs (relative to the
        capture directory). The CLI takes one layout for all inputs: with differing layouts use
        search() (permjit.search_heads, one layout per input) instead."""
        pairs = self.files.get(layer)
        if not pairs:
            raise InvalidArgumentError(
                f"layer: {layer}; captured layers: {sorted(self.files)}")
        layouts = {self.inputs[index]["layout"] for index, _, _ in pairs}
        texts = {None if name is None else (self.directory / name).read_text()
                 for name in layouts}
        command = ["permjit", "search"]
        for _, q, k in pairs:
            command += ["--q", q, "--k", k]
        command += ["--layer", str(layer)]
        if len(texts) == 1 and None not in texts:
            command += ["--layout", sorted(layouts)[0]]
        elif len(texts) > 1:
            raise InvalidArgumentError(
                f"layer {layer}: the captured inputs have {len(texts)} different layouts; "
                "`permjit search` takes one (--layout); use Capture.search() instead")
        if model:
            command += ["--model", model]
        return command + ["--merge", "-o", output]

    def search(self, layer: int, **options):
        """permjit.search_heads on one layer's captured inputs, each with its own layout."""
        import numpy as np

        from .search import search_heads

        inputs = []
        for index, q_name, k_name in self.files.get(layer, []):
            entry = self.inputs[index]
            layout = None if entry["layout"] is None else Layout.from_json(
                (self.directory / entry["layout"]).read_text())
            inputs.append((np.load(self.directory / q_name), np.load(self.directory / k_name),
                           layout))
        return search_heads(inputs, layer=layer, **options)

    def write_manifest(self) -> Path:
        path = self.directory / "capture.json"
        manifest = {"inputs": self.inputs,
                    "layers": {str(layer): {"q": [q for _, q, _ in pairs],
                                            "k": [k for _, _, k in pairs]}
                               for layer, pairs in sorted(self.files.items())}}
        try:
            manifest["search_commands"] = {str(layer): self.search_command(layer)
                                           for layer in sorted(self.files)}
        except InvalidArgumentError as error:
            manifest["search_commands"] = str(error)
        path.write_text(json.dumps(manifest, indent=2) + "\n")
        return path

    def remove(self) -> None:
        self._forward_hook.remove()
        self.hooks.remove()


@contextlib.contextmanager
def capture_qk(model, directory, *, layers=None, vision_ids=None):
    """with capture_qk(model, "calib/") as capture: model(**inputs) ... then
    capture.search_command(layer) or capture.search(layer); writes DIR/capture.json at exit."""
    capture = Capture(model, directory, layers=layers, vision_ids=vision_ids)
    try:
        yield capture
    finally:
        capture.remove()
        capture.write_manifest()


__all__ = ["ATTENTION_NAME", "Capture", "Decision", "Handle", "HeadGroup", "PermjitAttention",
           "attention_function", "capture_qk", "config_for_model", "decoder_attention_modules",
           "enable", "layouts_from_input_ids", "register", "sdpa_attention", "vision_token_ids"]
