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
#define PQRNN_QRNN_POOLING_OP_NAME "PqrnnQrnnPooling"

namespace pqrnn {

// Checks that every length is in [0, time].
Status ValidateFoPoolingLengths(const int32_t* lengths, int64_t batch, int64_t time);

void FoPool(const float* u, const float* f, const int32_t* lengths, int64_t batch,
            int64_t time, int64_t units, bool reverse, float* c);

// A QRNN layer after its one matrix product: gate sums over the convolution
// taps, the gate activations, fo-pooling and the output gate, for one or two
// directions, over each row's valid steps.
//
// taps: [batch, time, directions * kernel_width * 3 * units], laid out as
//   [direction][tap j][gate z, f, o][unit] on the last axis. Tap j of the
//   forward direction (direction 0) is the product with the input
//   kernel_width - 1 - j steps back, of the backward direction (direction 1)
//   the one kernel_width - 1 - j steps ahead; tap kernel_width - 1 is the
//   step's own input and carries the bias. A tap reaching before step 0 or
//   at or past len[b] counts as 0.
// Per direction and valid step t, with g = sum over taps (tap
// kernel_width - 1 first, then the others in decreasing j):
//   z = tanh(g_z), f = sigmoid(g_f), o = sigmoid(g_o),
//   c_t = f * c_prev + (1 - f) * z  (c_prev = +0 at the first processed step:
//   t = 0 forward, t = len - 1 backward), h_t = o * c_t,
// each product and sum rounded to float32 on its own (no fused multiply-add),
// and tanh, sigmoid from QrnnTanh, QrnnSigmoid below (basic arithmetic only),
// so every IEEE-754 platform computes the same bits.
// h: [batch, time, directions * units], forward units first; 0 for t >= len.
void QrnnPool(const float* taps, const int32_t* lengths, int64_t batch, int64_t time,
              int64_t units, int64_t kernel_width, int64_t directions, float* h);

float QrnnExp(float x);      // e^x, x clamped to [-87, 88]: Cody-Waite + degree-7 Taylor.
float QrnnSigmoid(float x);  // 1 / (1 + QrnnExp(-x)).
float QrnnTanh(float x);     // 1 - 2 / (QrnnExp(2|x|) + 1) with the sign of x, |x| clamped to 9.

}  // namespace pqrnn

#endif  // PQRNN_CORE_FO_POOLING_H_
