// fo-pooling, the recurrence of a QRNN, framework-free.
//
// Forward:  c[b, t] = f[b, t] * c[b, t - 1] + u[b, t]   for t = 0 .. len[b] - 1
// Reverse:  c[b, t] = f[b, t] * c[b, t + 1] + u[b, t]   for t = len[b] - 1 .. 0
// with the state before the first processed step 0, and c[b, t] = 0 for
// t >= len[b]. Tensors are [batch, time, units], row-major float32.
#ifndef PQRNN_CORE_FO_POOLING_H_
#define PQRNN_CORE_FO_POOLING_H_

#include <cstdint>

#include "status.h"

#define PQRNN_FO_POOLING_OP_NAME "PqrnnFoPooling"

namespace pqrnn {

// Checks that every length is in [0, time].
Status ValidateFoPoolingLengths(const int32_t* lengths, int64_t batch, int64_t time);

void FoPool(const float* u, const float* f, const int32_t* lengths, int64_t batch,
            int64_t time, int64_t units, bool reverse, float* c);

}  // namespace pqrnn

#endif  // PQRNN_CORE_FO_POOLING_H_
