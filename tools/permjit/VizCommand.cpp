// `permjit viz`: a PNG of a pattern's kept set, original order and planner order side by side.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "Cli.h"
#include "permjit/dsl/Json.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/ModelConfig.h"
#include "permjit/patterns/Viz.h"

namespace permjit::cli {

using namespace permjit::patterns;

const char* const kVizUsage =
    R"(usage: permjit viz PATTERN.json --seq-len N [--layout L.json] -o out.png
       permjit viz --config MODEL.json --layer L --head H --seq-len N [--layout L.json] -o out.png
                   [--passes auto|single|lines] [--tile MxNxWxS] [--head-dim 64|128]
                   [--max-pixels 512]

Draws the pattern's kept (query, key) pairs: the left panel in original order, then one panel
per pass of the plan `permjit compile` / `run` build with the same options, in that pass's
order (grid lines become dense bands), showing the pairs the pass computes. Modality spans are
colored bands along both axes (vision orange, text blue, other grey); long sequences are
downsampled (grey level = fraction of the cell kept, black = all). The tuning database's tile
and pass split are not consulted: give --tile / --passes to draw a tuned plan.
  PATTERN.json      a pattern file ({"permjit": 1, "pattern": ..., "layout": ...})
  --config, --layer, --head
                    draw one head of a model config instead (docs/model-config.md); the
                    layout follows the config's layout rules
  --seq-len N       sequence length (required; at most 16777216 for a picture)
  --layout L.json   layout ({"spans": [...]}); overrides the pattern file's layout, and is the
                    request layout for configs whose layout rule is "request"
  --passes auto|single|lines  the pass split, as for compile/run (default auto)
  --tile MxNxWxS    block_m x block_n x warps x stages, as for compile/run (default: the
                    kernel family's on this GPU, else on sm_90a)
  --head-dim 64|128 (default 128)
  --max-pixels P    panel size limit in pixels, [16, 8192] (default 512)
  -o, --output      the PNG to write
Exit codes: 0 ok, 2 bad arguments or input, 1 other failures.
)";

int vizCommand(const std::vector<std::string>& argv) {
  Args args(argv,
            {"--seq-len", "--layout", "--config", "--layer", "--head", "--max-pixels", "-o",
             "--output", "--passes", "--tile", "--head-dim"},
            {});
  const bool from_config = args.has("--config");
  if (from_config && !args.positional().empty()) {
    throw UsageError("give either PATTERN.json or --config, not both");
  }
  if (!from_config && args.positional().size() != 1) {
    throw UsageError("PATTERN.json: expected exactly one pattern file (or --config)");
  }
  if (!from_config && (args.has("--layer") || args.has("--head"))) {
    throw UsageError("--layer/--head: only with --config");
  }
  if (!args.has("--seq-len")) throw UsageError("--seq-len: missing");
  const int64_t seq_len = args.getInt("--seq-len", 0, 1, kMaxPositionParam);
  if (args.has("-o") && args.has("--output")) throw UsageError("-o and --output: give one");
  const std::string output = args.get("-o").value_or(args.getOr("--output", ""));
  if (output.empty()) throw UsageError("-o: missing; where to write the PNG");
  VizOptions options;
  options.max_panel_pixels = static_cast<int>(args.getInt("--max-pixels", 512, 16, 8192));
  const int64_t layer = from_config ? args.getInt("--layer", 0, 0, 1 << 20) : 0;
  const int64_t head = from_config ? args.getInt("--head", 0, 0, 65535) : 0;

  std::optional<Layout> layout = readLayoutOption(args);
  Pattern pattern = causal();
  std::string name;
  if (from_config) {
    const std::string path = *args.get("--config");
    ModelConfig config = loadModelConfig(path);
    pattern = patternFor(config, static_cast<int>(layer), static_cast<int>(head));
    layout = layoutFor(config.layout_rules, seq_len, layout ? &*layout : nullptr);
    name = fmt::format("{} layer {} head {}", config.model, layer, head);
  } else {
    PatternFile file = loadPatternFile(args.positional()[0]);
    pattern = file.pattern;
    if (!layout) layout = file.layout.value_or(Layout());
    name = file.name;
  }
  // The plan compile/run build: the same option parsing and the same CompileOptions mapping.
  PlanOptions plan = readPlanOptions(args);
  if (!plan.tile) plan.tile = defaultPlanTile(args, plan.head_dim);
  plan.layout = *layout;
  plan.seq_len = seq_len;
  if (!from_config && !name.empty()) plan.name = name;  // as compile/run name a pattern file's
  VizResult r = writePatternPng(pattern, compileOptionsFor(plan), output, options);
  std::cerr << fmt::format("permjit viz: {} ({}): {}x{} px, {} position(s) per pixel\n", output,
                           name, r.width, r.height, r.cell)
            << "  pattern: " << pattern.str() << "\n";
  for (size_t i = 0; i < r.passes.size(); ++i) {
    std::cerr << "  panel " << i + 2 << ": " << r.passes[i] << "\n";
  }
  return 0;
}

}  // namespace permjit::cli
