// TuningDb::parse: the tuning database reader never throws (TuningDb.h): bad content becomes an
// empty database or skipped entries, with warnings. So nothing is caught here. What it keeps
// must dump and parse back to the same entries without a warning, and every kept entry must be
// found by its own key.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "FuzzSupport.h"
#include "permjit/runtime/TuningDb.h"

namespace pr = permjit::runtime;

namespace {

bool sameEntry(const pr::TuningEntry& a, const pr::TuningEntry& b) {
  return a.key == b.key && a.tile.block_m == b.tile.block_m && a.tile.block_n == b.tile.block_n &&
         a.tile.warps == b.tile.warps && a.tile.stages == b.tile.stages &&
         a.pass_split == b.pass_split && a.default_ms == b.default_ms && a.tuned_ms == b.tuned_ms &&
         a.date == b.date && a.pattern == b.pattern;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> warnings;
  const pr::TuningDb db = pr::TuningDb::parse(permjit::fuzz::asText(data, size), "fuzz", &warnings);
  std::vector<std::string> again;
  const pr::TuningDb back = pr::TuningDb::parse(db.dump(), "dumped", &again);
  PERMJIT_FUZZ_CHECK(again.empty());
  PERMJIT_FUZZ_CHECK(back.entries().size() == db.entries().size());
  for (size_t i = 0; i < db.entries().size(); ++i) {
    PERMJIT_FUZZ_CHECK(sameEntry(back.entries()[i], db.entries()[i]));
    std::vector<std::string> lookup_warnings;
    const auto found = db.lookup(db.entries()[i].key, &lookup_warnings);
    PERMJIT_FUZZ_CHECK(found.has_value() != !lookup_warnings.empty());
    (void)db.entries()[i].key.str();
    (void)pr::tileName(db.entries()[i].tile);
  }
  return 0;
}
