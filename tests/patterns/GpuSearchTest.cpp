// The offline search on the GPU (GpuSearch.h): planted heads chosen as planted, the same
// choices and scores as the CPU search on the same inputs, and its errors. The GPU cases skip
// with the reason where there is no CUDA driver or GPU; the rest run everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "RequireGpu.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/patterns/GpuSearch.h"
#include "permjit/patterns/Npy.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/Nvrtc.h"

namespace permjit::patterns {
namespace {

constexpr int64_t kS = 2000, kPrefix = 40, kSuffix = 60, kD = 64, kHeads = 4;
constexpr int64_t kStride = 7, kPhaseQ = 2, kPhaseK = 5, kSlashOffset = 700;

Layout plantedLayout(int64_t S = kS) { return Layout::textVisionText(S, kPrefix, kSuffix); }

// q.k = A sum_j cos(w_j (x - y)) for the rotary-style vectors of positions x and y.
void rotary(float* out, double position, int frequencies, double amplitude) {
  for (int j = 0; j < frequencies; ++j) {
    const double period = 6.0 * std::pow(4.0 * kS / 6.0, double(j) / (frequencies - 1));
    const double angle = 2 * M_PI * position / period;
    out[j] = static_cast<float>(std::sqrt(amplitude) * std::cos(angle));
    out[frequencies + j] = static_cast<float>(std::sqrt(amplitude) * std::sin(angle));
  }
}

// Four heads, [kHeads, kS, kD], softmax scale 1, every value exact in float16:
//   0 grid (stride 7, phases 2 / 5 on the vision span): the rows of residue 2 attend uniformly,
//     every other row puts nearly all its mass on the vision keys of residue 5;
//   1 local: rotary q and k over 32 frequencies, the mass within a few positions of the
//     diagonal (A-shape with the smallest window keeps > 0.999);
//   2 vertical_slash: two rotary halves, the key's second half shifted by kSlashOffset, so the
//     mass sits on the diagonals near 0 and near kSlashOffset (> S/4: no A-shape window holds
//     it);
//   3 dense: small random q and k, nearly uniform attention.
struct Planted {
  std::vector<float> q, k;
  int64_t seq_len = 0;
};

Planted plantedHeads(int64_t S = kS, unsigned seed = 11) {
  Planted p;
  p.seq_len = S;
  p.q.assign(kHeads * S * kD, 0.0f);
  p.k.assign(kHeads * S * kD, 0.0f);
  auto at = [S](std::vector<float>& t, int64_t h, int64_t x) { return &t[(h * S + x) * kD]; };
  const float a = std::sqrt(12.0f);
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.2f);
  for (int64_t x = 0; x < S; ++x) {
    const bool vision = x >= kPrefix && x < S - kSuffix;
    at(p.q, 0, x)[0] = vision && (x - kPrefix) % kStride == kPhaseQ ? 0.0f : a;
    at(p.k, 0, x)[0] = vision && (x - kPrefix) % kStride == kPhaseK ? a : 0.0f;
    rotary(at(p.q, 1, x), double(x), 32, 0.8);
    rotary(at(p.k, 1, x), double(x), 32, 0.8);
    rotary(at(p.q, 2, x), double(x), 16, 2.0);
    rotary(at(p.q, 2, x) + 32, double(x), 16, 2.0);
    rotary(at(p.k, 2, x), double(x), 16, 2.0);
    rotary(at(p.k, 2, x) + 32, double(x + kSlashOffset), 16, 2.0);
    for (int64_t d = 0; d < kD; ++d) {
      at(p.q, 3, x)[d] = noise(rng);
      at(p.k, 3, x)[d] = noise(rng);
    }
  }
  // Both searches see the values the kernels see.
  for (std::vector<float>* t : {&p.q, &p.k}) {
    for (float& v : *t) {
      v = runtime::halfBitsToFloat(runtime::floatToHalfBits(v, DType::kFP16), DType::kFP16);
    }
  }
  return p;
}

CalibrationInput inputOf(const Planted& p) {
  CalibrationInput in;
  in.q = p.q.data();
  in.k = p.k.data();
  in.heads = in.kv_heads = kHeads;
  in.seq_len = p.seq_len;
  in.head_dim = kD;
  in.layout = plantedLayout(p.seq_len);
  return in;
}

Runtime& gpuRuntime() {
  RuntimeOptions options;
  options.cache_dir = (std::filesystem::temp_directory_path() / "permjit-gpu-test-cache").string();
  static Runtime* runtime = new Runtime(options);
  return *runtime;
}

TEST(GpuSearch, ResidueMassKernelCompilesForBothTargets) {
  for (const char* arch : {"sm_80", "sm_90a"}) {
    const runtime::ArchName name = runtime::parseArch(arch, "arch");
    TargetInfo target = TargetInfo::forComputeCapability(name.major, name.minor);
    target.arch_specific = name.arch_specific;
    for (int head_dim : {64, 128}) {
      for (DType dtype : {DType::kFP16, DType::kBF16}) {
        const GeneratedKernel kernel = generateResidueMass(head_dim, dtype, target);
        runtime::CudaProgram program;
        program.name = kernel.kernel_name + ".cu";
        program.source = kernel.source;
        program.headers = kernel.headers;
        program.options = kernel.nvrtc_options;
        program.arch = arch;
        program.kernel_name = kernel.kernel_name;
        EXPECT_FALSE(runtime::nvrtcCompile(program, runtime::Artifact::kCubin).empty())
            << arch << " " << head_dim;
      }
    }
    EXPECT_THROW(generateResidueMass(96, DType::kFP16, target), Error);
  }
  // 64 rows of 639 bins, the tiles and the tables fit an H100/H200's 227 KB.
  EXPECT_LE(residueMassSmemBytes(128, 639), 227 * 1024);
}

// The GPU search rounds captures with runtime::floatToHalfBits. Every float16 value (subnormals
// included: they were once flushed to zero, and values below 2^-24 shifted by more than 31)
// must round-trip, and arbitrary floats must round as the .npy writer's converter does.
TEST(GpuSearch, Float16RoundingKeepsSubnormals) {
  for (uint32_t bits = 0; bits < 0x10000u; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0) continue;  // NaN payloads
    const float v = runtime::halfBitsToFloat(h, DType::kFP16);
    ASSERT_EQ(runtime::floatToHalfBits(v, DType::kFP16), h) << std::hex << bits;
  }
  std::mt19937 rng(9);
  std::uniform_int_distribution<uint32_t> any;
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = any(rng);
    float v;
    std::memcpy(&v, &bits, 4);
    if (std::isnan(v)) continue;
    ASSERT_EQ(runtime::floatToHalfBits(v, DType::kFP16), floatToHalf(v)) << v;
  }
  EXPECT_EQ(runtime::floatToHalfBits(std::ldexp(1.0f, -24), DType::kFP16), 0x0001);
  EXPECT_EQ(runtime::floatToHalfBits(std::ldexp(1.0f, -25), DType::kFP16), 0x0000);  // tie: even
  EXPECT_EQ(runtime::floatToHalfBits(std::ldexp(1.5f, -25), DType::kFP16), 0x0001);
  EXPECT_EQ(runtime::floatToHalfBits(std::ldexp(1.0f, -40), DType::kFP16), 0x0000);
}

TEST(GpuSearch, DefaultCandidatesAddVerticalSlash) {
  const std::vector<SearchCandidate> cpu = defaultCandidates(plantedLayout(), kS);
  const std::vector<SearchCandidate> gpu = defaultGpuCandidates(plantedLayout(), kS);
  ASSERT_EQ(gpu.size(), cpu.size() + 2);
  EXPECT_EQ(gpu[cpu.size()].head.type, HeadType::kVerticalSlash);
  EXPECT_EQ(gpu[cpu.size()].head.vertical, kS / 32);
  EXPECT_EQ(gpu[cpu.size() + 1].head.slash, kS / 8);
}

TEST(GpuSearch, BadInputsFailNamingTheFieldBeforeAnyDeviceWork) {
  RuntimeOptions host;
  host.host_only = true;
  host.arch = "sm_90a";
  host.disable_cache = true;
  Runtime runtime(host);
  Planted planted = plantedHeads();
  CalibrationInput in = inputOf(planted);
  SearchOptions options;
  planted.q[123] = NAN;
  try {
    searchHeadsGpu(runtime, {in}, options);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("inputs[0].q: element 123"), std::string::npos)
        << e.what();
  }
  planted.q[123] = 0.0f;
  try {
    searchHeadsGpu(runtime, {in}, options);
    FAIL() << "host-only runtime accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDriverError);
    EXPECT_NE(std::string(e.what()).find("host-only"), std::string::npos) << e.what();
  }
  in.head_dim = 256;
  std::vector<float> wide(kHeads * kS * 256, 0.0f);
  in.q = in.k = wide.data();
  EXPECT_THROW(searchHeadsGpu(runtime, {in}, options), Error);
}

TEST(GpuSearch, PicksThePlantedHeads) {
  PERMJIT_REQUIRE_GPU();
  const Planted planted = plantedHeads();
  SearchOptions options;
  options.scale = 1.0;
  options.progress = &std::cerr;
  const std::vector<HeadSearchResult> results =
      searchHeadsGpu(gpuRuntime(), {inputOf(planted)}, options);
  ASSERT_EQ(results.size(), 4u);
  const HeadSpec& grid = results[0].best().head;
  EXPECT_EQ(grid.type, HeadType::kGrid) << headSummary(grid);
  EXPECT_EQ(grid.stride, kStride);
  EXPECT_EQ(grid.phase_q, kPhaseQ);
  EXPECT_EQ(grid.phase_k, kPhaseK);
  EXPECT_EQ(results[1].best().head.type, HeadType::kAShape) << headSummary(results[1].best().head);
  EXPECT_EQ(results[1].best().head.local, kS / 32);
  EXPECT_EQ(results[2].best().head.type, HeadType::kVerticalSlash)
      << headSummary(results[2].best().head);
  EXPECT_GT(results[2].best().recall, 0.99);
  EXPECT_EQ(results[3].best().head.type, HeadType::kDense) << headSummary(results[3].best().head);
  for (const HeadSearchResult& r : results) {
    for (const CandidateScore& s : r.scores) {
      EXPECT_TRUE(s.recall >= 0.0 && s.recall <= 1.0 && s.density > 0.0 && s.density <= 1.0)
          << headSummary(s.head);
    }
  }
}

TEST(GpuSearch, AgreesWithTheCpuSearch) {
  PERMJIT_REQUIRE_GPU();
  // Two inputs of different lengths (neither a tile multiple), the dense head's noise drawn
  // again.
  const Planted first = plantedHeads(kS, 11), second = plantedHeads(1501, 12);
  const std::vector<CalibrationInput> inputs = {inputOf(first), inputOf(second)};
  SearchOptions options;
  options.scale = 1.0;
  options.candidates = defaultCandidates(plantedLayout(), kS);  // what the CPU can score
  const std::vector<HeadSearchResult> cpu = searchHeads(inputs, options);
  const std::vector<HeadSearchResult> gpu = searchHeadsGpu(gpuRuntime(), inputs, options);
  ASSERT_EQ(cpu.size(), gpu.size());
  for (size_t h = 0; h < cpu.size(); ++h) {
    EXPECT_EQ(cpu[h].chosen, gpu[h].chosen)
        << "head " << h << ": cpu " << headSummary(cpu[h].best().head) << ", gpu "
        << headSummary(gpu[h].best().head);
    ASSERT_EQ(cpu[h].scores.size(), gpu[h].scores.size());
    EXPECT_EQ(headSummary(cpu[h].best().head), headSummary(gpu[h].best().head));
    for (size_t c = 0; c < cpu[h].scores.size(); ++c) {
      const CandidateScore& a = cpu[h].scores[c];
      const CandidateScore& b = gpu[h].scores[c];
      EXPECT_NEAR(a.recall, b.recall, 1e-3) << "head " << h << " " << headSummary(a.head);
      // Phases the table leaves tied (a local head scores every phase pair ~1) may resolve
      // differently, and with them a grid's density; the chosen one's must agree.
      if (a.head.type != HeadType::kGrid || c == cpu[h].chosen) {
        EXPECT_NEAR(a.density, b.density, 1e-9) << "head " << h << " " << headSummary(a.head);
      }
    }
  }
}

// GQA: 4 query heads over 2 key heads (head h reads key head h / 2), random nearly uniform
// attention at a length that is not a tile multiple; every candidate's recall agrees.
TEST(GpuSearch, GroupedQueryHeadsAgreeWithTheCpuSearch) {
  PERMJIT_REQUIRE_GPU();
  const int64_t S = 777, heads = 4, kv_heads = 2;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  auto half = [](float v) {
    return runtime::halfBitsToFloat(runtime::floatToHalfBits(v, DType::kFP16), DType::kFP16);
  };
  std::vector<float> q(heads * S * kD), k(kv_heads * S * kD);
  for (float& v : q) v = half(normal(rng));
  for (float& v : k) v = half(normal(rng));
  CalibrationInput in;
  in.q = q.data();
  in.k = k.data();
  in.heads = heads;
  in.kv_heads = kv_heads;
  in.seq_len = S;
  in.head_dim = kD;
  in.layout = plantedLayout(S);
  SearchOptions options;
  options.candidates = defaultCandidates(in.layout, S);
  const std::vector<HeadSearchResult> cpu = searchHeads({in}, options);
  const std::vector<HeadSearchResult> gpu = searchHeadsGpu(gpuRuntime(), {in}, options);
  ASSERT_EQ(gpu.size(), 4u);
  for (size_t h = 0; h < cpu.size(); ++h) {
    EXPECT_EQ(cpu[h].chosen, gpu[h].chosen) << "head " << h;
    for (size_t c = 0; c < cpu[h].scores.size(); ++c) {
      EXPECT_NEAR(cpu[h].scores[c].recall, gpu[h].scores[c].recall, 1e-3)
          << "head " << h << " " << headSummary(cpu[h].scores[c].head);
    }
  }
}

TEST(GpuSearch, Float16RangeIsCheckedNamingTheElement) {
  PERMJIT_REQUIRE_GPU();
  Planted planted = plantedHeads();
  planted.k[77] = 1e5f;
  SearchOptions options;
  try {
    searchHeadsGpu(gpuRuntime(), {inputOf(planted)}, options);
    FAIL() << "1e5 accepted as float16";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("inputs[0].k: element 77"), std::string::npos) << e.what();
  }
  GpuSearchOptions bf16;
  bf16.dtype = DType::kBF16;
  EXPECT_EQ(searchHeadsGpu(gpuRuntime(), {inputOf(planted)}, options, bf16).size(), 4u);
}

}  // namespace
}  // namespace permjit::patterns
