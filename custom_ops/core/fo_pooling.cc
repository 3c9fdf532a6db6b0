#include "fo_pooling.h"

#include <cstring>
#include <string>

// The spec rounds each step's product and sum separately, which is what makes
// TF on x86-64 and TFLite on an ARM phone agree bit for bit. Left alone,
// compilers fuse f * c + u into one multiply-add where the CPU has one: GCC
// does by default in C++ (-ffp-contract=fast; aarch64 fmadd, x86-64 with
// -mfma), clang within an expression (-ffp-contract=on, the NDK's default).
// tests/test_aarch64_golden.py catches it.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace pqrnn {

Status ValidateFoPoolingLengths(const int32_t* lengths, int64_t batch,
                                int64_t time) {
  for (int64_t b = 0; b < batch; ++b) {
    if (lengths[b] < 0 || lengths[b] > time) {
      return Status::InvalidArgument(
          std::string(PQRNN_FO_POOLING_OP_NAME) + ": sequence_length[" +
          std::to_string(b) + "] = " + std::to_string(lengths[b]) +
          " is outside [0, " + std::to_string(time) + "]");
    }
  }
  return Status::Ok();
}

void FoPool(const float* u, const float* f, const int32_t* lengths, int64_t batch,
            int64_t time, int64_t units, bool reverse, float* c) {
  const int64_t step = units;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t offset = b * time * units;
    const int64_t len = lengths[b];
    const float* ub = u + offset;
    const float* fb = f + offset;
    float* cb = c + offset;
    std::memset(cb + len * step, 0, (time - len) * step * sizeof(float));
    if (len == 0) continue;
    // The first processed step has a zero incoming state.
    const int64_t first = reverse ? len - 1 : 0;
    std::memcpy(cb + first * step, ub + first * step, step * sizeof(float));
    for (int64_t i = 1; i < len; ++i) {
      const int64_t t = reverse ? len - 1 - i : i;
      const int64_t prev = reverse ? t + 1 : t - 1;
      const float* ut = ub + t * step;
      const float* ft = fb + t * step;
      const float* cp = cb + prev * step;
      float* ct = cb + t * step;
      for (int64_t k = 0; k < units; ++k) ct[k] = ft[k] * cp[k] + ut[k];
    }
  }
}

}  // namespace pqrnn
