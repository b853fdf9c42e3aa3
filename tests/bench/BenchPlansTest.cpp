// Every plan the benchmark asks for on the GPU, up to the launch, without a GPU: each bench
// pattern compiles with the default tile and every tile and pass split the bench's tuner tries,
// renders CUDA for sm_90a (or is rejected as unsupported, which the tuner reports and skips),
// and binds its parameters and segment tables at every bench length within the launch limits
// Plan::run checks (segment count, 65535 row tiles).
#include <gtest/gtest.h>

#include "BenchPatterns.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/compiler/Plan.h"
#include "permjit/permjit.h"
#include "permjit/runtime/Autotuner.h"

namespace permjit::bench {
namespace {

constexpr int64_t kLengths[] = {16384, 32768, 131072, 524288, 1048576};

TEST(BenchPlans, EveryPatternTileAndSplitCompilesRendersAndBinds) {
  const TargetInfo target = TargetInfo::forComputeCapability(9, 0);
  for (const std::string& name : staticPatternNames()) {
    for (int head_dim : {64, 128}) {
      BenchPattern shape_free = benchPattern(name, 32768);
      PlanOptions plan_options;
      plan_options.head_dim = head_dim;
      plan_options.name = name;
      int rendered = 0;
      for (const runtime::TuneCandidate& candidate :
           runtime::candidateConfigs(shape_free.pattern, plan_options, benchTiles(), 0)) {
        SCOPED_TRACE(name + " hd " + std::to_string(head_dim) + " " +
                     runtime::candidateName(candidate));
        CompileOptions options;
        options.head_dim = head_dim;
        options.name = name;
        options.tile = candidate.tile;
        options.pass_split = candidate.pass_split;
        KernelSpec spec;
        ASSERT_NO_THROW(spec = compilePattern(shape_free.pattern, options));
        bool renders = true;
        for (size_t pass = 0; pass < spec.passes.size(); ++pass) {
          try {
            generateCuda(spec, target, static_cast<int>(pass));
          } catch (const Error& error) {
            EXPECT_EQ(error.category(), ErrorCategory::kUnsupported) << error.what();
            renders = false;
          }
        }
        if (!renders) continue;
        ++rendered;
        for (int64_t seq_len : kLengths) {
          BenchPattern bench = benchPattern(name, seq_len);
          ASSERT_NO_THROW(validate(bench.pattern, bench.layout, seq_len)) << seq_len;
          std::vector<int> params = bindParams(spec, bench.layout, seq_len);
          EXPECT_LE(params.size(), static_cast<size_t>(sem::kMaxParams));
          for (const PassSpec& pass : spec.passes) {
            sem::SegmentTable rows, cols;
            ASSERT_NO_THROW(rows = buildSegmentTable(pass.rows, params, bench.layout, seq_len,
                                                     candidate.tile.block_m))
                << seq_len;
            ASSERT_NO_THROW(cols = buildSegmentTable(pass.cols, params, bench.layout, seq_len,
                                                     candidate.tile.block_n))
                << seq_len;
            EXPECT_LE(rows.total / candidate.tile.block_m, 65535) << seq_len;
          }
        }
      }
      // The default plan always renders, and the tuner has alternatives to time.
      EXPECT_GE(rendered, 2) << name;
    }
  }
}

}  // namespace
}  // namespace permjit::bench
