// Test data shared by the search library tests and the `permjit search` command tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace permjit::patterns::planted {

// Two planted heads over a text(8) / vision / text(16) layout, D = 3, softmax scale 1:
//  head 0 (grid, stride 7, phase_q 2, phase_k 5): vision rows of residue 2 attend uniformly
//    (their whole row is needed: horizontal lines); every other row puts nearly all its mass
//    on the vision keys of residue 5 (vertical lines).
//  head 1 (local): logits -lambda (q - k)^2, a Gaussian window of sigma 4 (99% within 12).
constexpr int64_t kS = 384, kPrefix = 8, kSuffix = 16, kD = 3;
constexpr int64_t kStride = 7, kPhaseQ = 2, kPhaseK = 5;

struct Planted {
  std::vector<float> q, k;  // [2, S, D]
};

inline Planted plantedHeads() {
  Planted p;
  p.q.assign(2 * kS * kD, 0.0f);
  p.k.assign(2 * kS * kD, 0.0f);
  const double a = std::sqrt(12.0);
  auto vision = [](int64_t x) { return x >= kPrefix && x < kS - kSuffix; };
  for (int64_t x = 0; x < kS; ++x) {
    bool hline = vision(x) && (x - kPrefix) % kStride == kPhaseQ;
    bool vline = vision(x) && (x - kPrefix) % kStride == kPhaseK;
    p.q[x * kD] = hline ? 0.0f : static_cast<float>(a);
    p.k[x * kD] = vline ? static_cast<float>(a) : 0.0f;
    // -lambda (q - k)^2 = q.k with q = (1, x, x^2) and k = (-lambda x^2, 2 lambda x, -lambda).
    const double lambda = 1.0 / (2 * 4.0 * 4.0);
    float* q1 = &p.q[(kS + x) * kD];
    float* k1 = &p.k[(kS + x) * kD];
    q1[0] = 1.0f;
    q1[1] = static_cast<float>(x);
    q1[2] = static_cast<float>(x * x);
    k1[0] = static_cast<float>(-lambda * x * x);
    k1[1] = static_cast<float>(2 * lambda * x);
    k1[2] = static_cast<float>(-lambda);
  }
  return p;
}

}  // namespace permjit::patterns::planted
