// parseCandidates: a `permjit search --candidates` file. Every candidate that parses must
// round-trip in the head form, build its pattern, and survive validate and the reference mask
// on small text-vision-text layouts.
#include <cstddef>
#include <cstdint>

#include "FuzzSupport.h"
#include "permjit/patterns/Search.h"

namespace pp = permjit::patterns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<pp::SearchCandidate> candidates;
  try {
    candidates = pp::parseCandidates(permjit::fuzz::asText(data, size), "fuzz input");
  } catch (const permjit::Error&) {
    return 0;
  }
  for (size_t i = 0; i < candidates.size() && i < 8; ++i) {
    const pp::HeadSpec& head = candidates[i].head;
    PERMJIT_FUZZ_CHECK(pp::headSpecFromJson(pp::headSpecToJson(head), "head") == head);
    (void)pp::headSummary(head);
    // Not caught: parseCandidates has checked the parameter ranges with headPattern.
    const permjit::Pattern pattern = pp::headPattern(head);
    permjit::fuzz::exercisePattern(pattern, permjit::Layout::textVisionText(64, 8, 8));
    permjit::fuzz::exercisePattern(pattern, permjit::Layout::textVisionText(17, 1, 0));
  }
  return 0;
}
