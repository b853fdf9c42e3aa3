// What the code generator knows about a target: its compute capability, whether it is the
// arch-specific "a" variant, and which kernel family renders its attention kernels. Patterns
// never see the family: every family runs every pattern, through the same preamble.
#pragma once

#include <string>

namespace permjit {

// The attention mainloop families (one set of device templates each, codegen/cuda/).
//   kSm80   FlashAttention-2 style: mma.sync m16n8k16, ldmatrix, a cp.async ring; sm_80 and
//           newer (A100, L40, consumer cards, Hopper through its sm_90a cubin).
//   kSm90a  Hopper: warpgroup MMA (wgmma), TMA tile loads (strided boxes for permuted residue
//           classes), a producer warpgroup feeding two consumer warpgroups through an mbarrier
//           ring, setmaxnreg; sm_90a only.
enum class KernelFamily { kSm80, kSm90a };
const char* kernelFamilyName(KernelFamily family);  // "sm80" | "sm90a"
// "sm80" | "sm90a"; Error(kInvalidArgument) naming `field` and the allowed values otherwise.
KernelFamily parseKernelFamily(const std::string& name, const std::string& field);

struct TargetInfo {
  int major = 8;
  int minor = 0;
  bool arch_specific = false;  // the "a" targets (sm_90a, sm_100a, ...): wgmma, setmaxnreg
  KernelFamily family = KernelFamily::kSm80;
  // "sm_80", "sm_90a", ...
  std::string nvrtcArch() const;
  // Most shared memory one CTA may opt into on this target, in bytes.
  int maxSharedMemoryPerBlock() const;
  // Arch-specific ("a") targets for 9.0 and newer, family kSm80. Throws Error(kUnsupported)
  // below 8.0 (the templates need bf16 mma.sync, ldmatrix and cp.async).
  static TargetInfo forComputeCapability(int major, int minor);
  // The families this target can run: kSm80 always, kSm90a on sm_90a.
  bool runs(KernelFamily family) const;
  // The family a runtime uses unless told otherwise: kSm90a on sm_90a, kSm80 elsewhere.
  KernelFamily preferredFamily() const;
  // This target with `family`; Error(kUnsupported) naming the target when it cannot run it.
  TargetInfo withFamily(KernelFamily family) const;
};

}  // namespace permjit
