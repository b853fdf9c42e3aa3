// The offline search on the GPU at a whole model's scale (patterns/GpuSearch.h): a capture of
// LAYERS x HEADS heads at SEQ_LEN tokens with INPUTS calibration inputs, the default GPU
// candidate set, timed layer by layer (each layer one searchHeadsGpu call, as `permjit search
// --device gpu` runs it). The heads are synthetic with planted structure, drawn from a pool so
// that building them costs less than searching them: grid heads (strides 7..28, random phases),
// local heads, vertical-slash heads (a second diagonal far from the first) and dense heads.
// Prints one JSON line per layer, a summary line, and how many heads were chosen as planted.
//   permjit_search_bench [--layers 28] [--heads 28] [--seq-len 32768] [--inputs 2]
//                        [--head-dim 128] [--verbose]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "permjit/patterns/GpuSearch.h"
#include "permjit/patterns/HeadTypes.h"

using namespace permjit;
using namespace permjit::patterns;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

enum class Planted { kGrid, kLocal, kVerticalSlash, kDense };
const char* plantedName(Planted p) {
  switch (p) {
    case Planted::kGrid:
      return "grid";
    case Planted::kLocal:
      return "a_shape";
    case Planted::kVerticalSlash:
      return "vertical_slash";
    case Planted::kDense:
      return "dense";
  }
  return "?";
}
bool recovered(Planted p, HeadType chosen) {
  switch (p) {
    case Planted::kGrid:
      return chosen == HeadType::kGrid;
    case Planted::kLocal:
      return chosen == HeadType::kAShape || chosen == HeadType::kTriShape;
    case Planted::kVerticalSlash:
      return chosen == HeadType::kVerticalSlash;
    case Planted::kDense:
      return chosen == HeadType::kDense;
  }
  return false;
}

// One synthetic head: q and k [S, D] (see the file comment).
struct PoolHead {
  Planted kind;
  std::vector<float> q, k;
};

void rotary(float* out, double position, int frequencies, double amplitude, int64_t S) {
  for (int j = 0; j < frequencies; ++j) {
    const double period = 6.0 * std::pow(4.0 * S / 6.0, double(j) / (frequencies - 1));
    const double angle = 2 * M_PI * position / period;
    out[j] = static_cast<float>(std::sqrt(amplitude) * std::cos(angle));
    out[frequencies + j] = static_cast<float>(std::sqrt(amplitude) * std::sin(angle));
  }
}

// `seed` draws the structure (a head keeps it on every calibration input), `noise_seed` the
// dense head's values (they differ per input).
PoolHead makeHead(Planted kind, int64_t S, int64_t D, int64_t prefix, int64_t suffix, unsigned seed,
                  unsigned noise_seed) {
  PoolHead h;
  h.kind = kind;
  h.q.assign(S * D, 0.0f);
  h.k.assign(S * D, 0.0f);
  std::mt19937 rng(seed);
  if (kind == Planted::kGrid) {
    const int64_t stride = std::uniform_int_distribution<int64_t>(7, 28)(rng);
    const int64_t pq = std::uniform_int_distribution<int64_t>(0, stride - 1)(rng);
    const int64_t pk = std::uniform_int_distribution<int64_t>(0, stride - 1)(rng);
    const float a = std::sqrt(12.0f);
    for (int64_t x = 0; x < S; ++x) {
      const bool vision = x >= prefix && x < S - suffix;
      h.q[x * D] = vision && (x - prefix) % stride == pq ? 0.0f : a;
      h.k[x * D] = vision && (x - prefix) % stride == pk ? a : 0.0f;
    }
  } else if (kind == Planted::kLocal) {
    for (int64_t x = 0; x < S; ++x) {
      rotary(&h.q[x * D], double(x), 32, 0.8, S);
      rotary(&h.k[x * D], double(x), 32, 0.8, S);
    }
  } else if (kind == Planted::kVerticalSlash) {
    const int64_t offset = S / 3 + std::uniform_int_distribution<int64_t>(0, S / 8)(rng);
    for (int64_t x = 0; x < S; ++x) {
      rotary(&h.q[x * D], double(x), 16, 2.0, S);
      rotary(&h.q[x * D + 32], double(x), 16, 2.0, S);
      rotary(&h.k[x * D], double(x), 16, 2.0, S);
      rotary(&h.k[x * D + 32], double(x + offset), 16, 2.0, S);
    }
  } else {
    std::mt19937 noise_rng(noise_seed);
    std::normal_distribution<float> noise(0.0f, 0.2f);
    for (float& v : h.q) v = noise(noise_rng);
    for (float& v : h.k) v = noise(noise_rng);
  }
  return h;
}

int64_t intArg(int argc, char** argv, const char* name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::stoll(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t layers = intArg(argc, argv, "--layers", 28);
  const int64_t heads = intArg(argc, argv, "--heads", 28);
  const int64_t S = intArg(argc, argv, "--seq-len", 32768);
  const int64_t inputs = intArg(argc, argv, "--inputs", 2);
  const int64_t D = intArg(argc, argv, "--head-dim", 128);
  const int64_t prefix = 64, suffix = 128;
  const std::string no_gpu = Runtime::deviceUnavailableReason();
  if (!no_gpu.empty()) {
    std::printf("permjit_search_bench: skipped: %s\n", no_gpu.c_str());
    return 0;
  }
  try {
    Runtime runtime;
    const Layout layout = Layout::textVisionText(S, prefix, suffix);
    // The pool: per input, 16 heads, 4 of each kind (different seeds per input).
    const Planted kinds[] = {Planted::kGrid, Planted::kLocal, Planted::kVerticalSlash,
                             Planted::kDense};
    auto start = Clock::now();
    std::vector<std::vector<PoolHead>> pool(inputs);
    {
      std::vector<std::thread> threads;
      for (int64_t i = 0; i < inputs; ++i) pool[i].resize(16);
      for (int64_t i = 0; i < inputs; ++i) {
        for (int j = 0; j < 16; ++j) {
          threads.emplace_back([&, i, j] {
            pool[i][j] = makeHead(kinds[j % 4], S, D, prefix, suffix, static_cast<unsigned>(j + 1),
                                  static_cast<unsigned>(1000 * i + j + 1));
          });
        }
      }
      for (std::thread& t : threads) t.join();
    }
    std::printf("permjit_search_bench: pool of %lld x 16 heads built in %.1f s\n",
                static_cast<long long>(inputs), secondsSince(start));
    // Pool head of (layer, head): the same pool index on every input, so a head keeps its kind.
    auto poolIndex = [](int64_t layer, int64_t head) { return (layer * 5 + head * 3) % 16; };

    std::vector<std::vector<float>> q(inputs), k(inputs);
    for (int64_t i = 0; i < inputs; ++i) {
      q[i].resize(heads * S * D);
      k[i].resize(heads * S * D);
    }
    SearchOptions options;
    options.scale = 1.0;  // the planted logits are built for scale 1
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--verbose") == 0) options.progress = &std::cerr;
    }
    double search_seconds = 0;
    std::vector<double> layer_seconds;
    int64_t planted_right = 0, total_heads = 0;
    int64_t right_by_kind[4] = {0, 0, 0, 0}, by_kind[4] = {0, 0, 0, 0};
    for (int64_t layer = 0; layer < layers; ++layer) {
      std::vector<CalibrationInput> calibration;
      for (int64_t i = 0; i < inputs; ++i) {
        for (int64_t h = 0; h < heads; ++h) {
          const PoolHead& p = pool[i][poolIndex(layer, h)];
          std::copy(p.q.begin(), p.q.end(), q[i].begin() + h * S * D);
          std::copy(p.k.begin(), p.k.end(), k[i].begin() + h * S * D);
        }
        CalibrationInput in;
        in.q = q[i].data();
        in.k = k[i].data();
        in.heads = in.kv_heads = heads;
        in.seq_len = S;
        in.head_dim = D;
        in.layout = layout;
        calibration.push_back(in);
      }
      start = Clock::now();
      const std::vector<HeadSearchResult> results = searchHeadsGpu(runtime, calibration, options);
      const double seconds = secondsSince(start);
      search_seconds += seconds;
      layer_seconds.push_back(seconds);
      int64_t right = 0;
      for (int64_t h = 0; h < heads; ++h) {
        const Planted kind = pool[0][poolIndex(layer, h)].kind;
        const bool ok = recovered(kind, results[h].best().head.type);
        if (!ok) {
          std::printf("layer %lld head %lld: planted %s, chosen %s (recall %.4f, density %.4f)\n",
                      static_cast<long long>(layer), static_cast<long long>(h), plantedName(kind),
                      headSummary(results[h].best().head).c_str(), results[h].best().recall,
                      results[h].best().density);
        }
        right += ok;
        right_by_kind[static_cast<int>(kind)] += ok;
        ++by_kind[static_cast<int>(kind)];
      }
      planted_right += right;
      total_heads += heads;
      std::printf(
          "{\"metric\": \"search_layer\", \"layer\": %lld, \"heads\": %lld, \"seq_len\": %lld, "
          "\"inputs\": %lld, \"seconds\": %.3f, \"planted_recovered\": %lld}\n",
          static_cast<long long>(layer), static_cast<long long>(heads), static_cast<long long>(S),
          static_cast<long long>(inputs), seconds, static_cast<long long>(right));
      std::fflush(stdout);
    }
    std::sort(layer_seconds.begin(), layer_seconds.end());
    std::printf(
        "{\"metric\": \"search_model\", \"device\": \"%s\", \"layers\": %lld, \"heads\": %lld, "
        "\"seq_len\": %lld, \"inputs\": %lld, \"head_dim\": %lld, \"candidates\": %zu, "
        "\"seconds\": %.2f, \"median_layer_seconds\": %.3f, \"planted_recovered\": %lld, "
        "\"heads_total\": %lld}\n",
        runtime.deviceName().c_str(), static_cast<long long>(layers), static_cast<long long>(heads),
        static_cast<long long>(S), static_cast<long long>(inputs), static_cast<long long>(D),
        defaultGpuCandidates(layout, S).size(), search_seconds,
        layer_seconds[layer_seconds.size() / 2], static_cast<long long>(planted_right),
        static_cast<long long>(total_heads));
    for (int kind = 0; kind < 4; ++kind) {
      std::printf("planted %-15s chosen as planted: %lld of %lld\n",
                  plantedName(static_cast<Planted>(kind)),
                  static_cast<long long>(right_by_kind[kind]),
                  static_cast<long long>(by_kind[kind]));
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "permjit_search_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
