// A host copy of a run's estimated sets in the form the kernels read (bitmaps, prefix counts, the
// ascending vertical column list and the slash pair arrays), for tests that evaluate sem::* on the
// CPU.
#pragma once

#include <cstdint>
#include <vector>

#include "permjit/compiler/TileSemantics.h"

namespace permjit::testing_detail {

struct HostDynamicSets {
  std::vector<unsigned> bits[2];
  std::vector<int> prefix[2];
  std::vector<int> col_list;
  std::vector<unsigned> slash_pairs;
  sem::DynamicSets view{};

  HostDynamicSets(const std::vector<int64_t>& vertical, const std::vector<int64_t>& slash,
                  int64_t seq_len) {
    const std::vector<int64_t>* chosen[2] = {&vertical, &slash};
    for (int set = 0; set < 2; ++set) {
      std::vector<unsigned char> flag(seq_len, 0);
      for (int64_t x : *chosen[set]) flag[x] = 1;
      bits[set].assign((seq_len + 31) / 32, 0u);
      prefix[set].assign(seq_len + 1, 0);
      for (int64_t x = 0; x < seq_len; ++x) {
        if (flag[x]) bits[set][x >> 5] |= 1u << (x & 31);
        prefix[set][x + 1] = prefix[set][x] + flag[x];
        if (set == sem::kVerticalSet && flag[x]) col_list.push_back(static_cast<int>(x));
      }
      view.bits[set] = bits[set].data();
      view.word_count[set] = static_cast<int>(bits[set].size());
      view.prefix[set] = prefix[set].data();
    }
    view.col_list = col_list.data();
    view.col_count = static_cast<int>(col_list.size());
    view.size = static_cast<int>(seq_len);
    // The pair arrays as the estimator derives them from the bitmap.
    view.pair_words = sem::slash_pair_words(view.size);
    slash_pairs.resize(8 * static_cast<size_t>(view.pair_words));
    for (int rho = 0; rho < 8; ++rho) {
      for (int w = 0; w < view.pair_words; ++w) {
        slash_pairs[rho * view.pair_words + w] = sem::slash_pair_word(view, rho, w);
      }
    }
    view.slash_pairs = slash_pairs.data();
  }
  // Views point into this object's vectors.
  HostDynamicSets(const HostDynamicSets&) = delete;
  HostDynamicSets& operator=(const HostDynamicSets&) = delete;
};

}  // namespace permjit::testing_detail
