"""permjit: JIT-compiled sparse attention (MMInference's modality-aware permutation sparse
attention) from Python, over libpermjit.so's C ABI.

    import permjit
    from permjit import causal, sink, local, rows, grid, SpanRef, Layout

    head = causal() & (sink(1024) | local(1024) | rows(SpanRef.last(60)) | grid(14, 0, 0))
    layout = Layout.text_vision_text(32768, prefix=812, suffix=60)
    head.mask(Layout.text_vision_text(256, 16, 8), 256)     # reference mask (numpy bool)
    plan = permjit.Runtime().plan(head, head_dim=128, dtype="bf16")
    plan.run(q, k, v, out, layout=layout)                    # DLPack tensors, [b, s, h, d]

PyTorch: permjit.torch (attention(), a torch.library custom op). transformers:
permjit.transformers. The library is found as PERMJIT_LIBRARY, else inside the package.
"""

from .config import ModelConfig
from .dsl import (
    Pattern,
    PatternFile,
    PermuteBy,
    SpanRef,
    a_shape,
    block,
    boundary_2d,
    boundary_2d_head,
    causal,
    dense,
    full,
    grid,
    grid_estimated,
    grid_head,
    head_pattern,
    hlines,
    intersect_of,
    local,
    permute,
    q_boundary,
    q_boundary_head,
    rows,
    sink,
    tri_shape,
    union_of,
    vertical_slash,
    vertical_slash_head,
    vlines,
)
from .errors import (
    CompileError,
    DriverError,
    InternalError,
    InvalidArgumentError,
    InvalidPatternError,
    IoError,
    OutOfMemoryError,
    PermjitError,
    UnsupportedError,
)
from .layout import Layout, Span
from .runtime import (
    CacheStats,
    LayerPlan,
    Plan,
    Runtime,
    default_runtime,
    device_unavailable_reason,
    environment_variables,
    version,
)
from .pictures import Viz, viz, write_png
from .search import SearchResult, search_heads

__version__ = "0.1.0"
