// One attention kernel family per architecture generation (as Triton has one backend per
// target): which mainloop template the generated preamble instantiates, which tile shapes it
// runs and how it is launched. generateCuda asks the target's family and nothing else, so a
// new family plugs in here without touching patterns or the compiler.
#pragma once

#include <string>
#include <vector>

#include "permjit/codegen/TargetInfo.h"
#include "permjit/compiler/KernelSpec.h"

namespace permjit::codegen_detail {

class AttentionFamily {
 public:
  virtual ~AttentionFamily() = default;
  virtual KernelFamily id() const = 0;
  // Throws Error(kUnsupported) naming the field for a tile shape or size the family's
  // templates cannot run on `target`.
  virtual void checkSpec(const KernelSpec& spec, const TargetInfo& target) const = 0;
  virtual int threads(const KernelSpec& spec) const = 0;
  // The threads that hold a CTA's softmax state and O (the consumers): the key split's combine
  // kernel runs with as many (pj_key_split.cuh SplitState::kThreads).
  virtual int stateThreads(const KernelSpec& spec) const = 0;
  virtual int smemBytes(const KernelSpec& spec) const = 0;
  // The device template the preamble includes, e.g. "pj_attention_fwd.cuh".
  virtual std::string mainloopHeader() const = 0;
  // The C++ type of the kernel's Config over the preamble's constants.
  virtual std::string configType() const = 0;
  // `__launch_bounds__(...)` of the entry point.
  virtual std::string launchBounds(const KernelSpec& spec) const = 0;
  // The entry point's body: the mainloop call for a static or a grid_estimated pass.
  virtual std::string entry(const KernelSpec& spec) const = 0;
  // Whether the entry point takes TmaArgs (KernelArgs.h) as a second parameter, after
  // AttentionArgs; the launcher then encodes the tensor maps for each run.
  virtual bool takesTmaArgs() const { return false; }
  // The tile a plan uses unless a caller or the tuning database chooses one, and the tiles the
  // autotuner tries (the default first; every one passes checkSpec where shared memory fits).
  virtual TileConfig defaultTile(int head_dim) const = 0;
  virtual std::vector<TileConfig> tileSpace(int head_dim) const = 0;
};

const AttentionFamily& attentionFamily(KernelFamily family);
const AttentionFamily& sm80Family();   // Sm80Family.cpp
const AttentionFamily& sm90aFamily();  // Sm90aFamily.cpp

}  // namespace permjit::codegen_detail
