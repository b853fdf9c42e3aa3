// parseModelConfig: a per-model head config (docs/model-config.md). What parses must
// round-trip (fromJson(toJson(c)) == c, and through dumpModelConfig), pass validateModelConfig,
// give every head's pattern, and survive validate and the reference mask against the layout
// its rules give for small sequence lengths.
#include <cstddef>
#include <cstdint>
#include <limits>

#include "FuzzSupport.h"
#include "permjit/patterns/ModelConfig.h"

namespace pp = permjit::patterns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pp::ModelConfig config;
  try {
    config = pp::parseModelConfig(permjit::fuzz::asText(data, size));
  } catch (const permjit::Error&) {
    return 0;
  }
  // Not caught: a config that parsed is valid, so these must not throw.
  pp::validateModelConfig(config);
  PERMJIT_FUZZ_CHECK(pp::modelConfigFromJson(pp::modelConfigToJson(config)) == config);
  PERMJIT_FUZZ_CHECK(pp::parseModelConfig(pp::dumpModelConfig(config)) == config);

  // A request layout for "request" rules: text, then vision.
  const permjit::Layout request = permjit::Layout::textVisionText(64, 8, 0);
  std::vector<std::pair<int64_t, permjit::Layout>> layouts;
  for (int64_t seq_len : {1, 17, 64}) {
    try {
      layouts.emplace_back(seq_len, pp::layoutFor(config.layout_rules, seq_len, &request));
    } catch (const permjit::Error&) {
    }
  }
  // The first few heads of the first few layers bound the work per input.
  for (size_t li = 0; li < config.layers.size() && li < 4; ++li) {
    const pp::LayerConfig& layer = config.layers[li];
    if (layer.layer > std::numeric_limits<int>::max()) continue;
    for (size_t h = 0; h < layer.heads.size() && h < 8; ++h) {
      const permjit::Pattern pattern =
          pp::patternFor(config, static_cast<int>(layer.layer), static_cast<int>(h));
      PERMJIT_FUZZ_CHECK(pp::headSpecFromJson(pp::headSpecToJson(layer.heads[h]), "head") ==
                         layer.heads[h]);
      (void)pp::headSummary(layer.heads[h]);
      for (const auto& [seq_len, layout] : layouts) {
        permjit::fuzz::exercisePattern(pattern, layout);
      }
    }
  }
  return 0;
}
