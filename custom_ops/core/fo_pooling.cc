#include "fo_pooling.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// The spec rounds each step's product and sum separately, which is what makes
// TF on x86-64 and TFLite on an ARM phone agree bit for bit. Left alone,
// compilers fuse f * c + u into one multiply-add where the CPU has one: GCC
// does by default in C++ (-ffp-contract=fast; aarch64 fmadd, x86-64 with
// -mfma), clang within an expression (-ffp-contract=on, the NDK's default).
// tests/test_aarch64_golden.py catches it.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
// no-trapping-math lets GCC vectorize QrnnPool's unit loop (it may then
// evaluate both sides of a select; every value is still IEEE-rounded the same
// way, and clang assumes no FP traps by default anyway).
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
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

namespace {

// The helpers of QrnnPool's unit loop are written here, not taken from
// <cmath> / <algorithm>: GCC does not inline functions compiled without this
// file's optimize pragma into ones compiled with it, and a call stops the
// loop from vectorizing (4x slower).
inline __attribute__((always_inline)) uint32_t Bits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  return bits;
}

inline __attribute__((always_inline)) float FromBits(uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}

inline __attribute__((always_inline)) float Clamp(float x, float low, float high) {
  x = x < low ? low : x;
  return x > high ? high : x;
}

inline __attribute__((always_inline)) float Exp(float x) {
  // x = n ln2 + r, |r| <= ln2 / 2, ln2 split so that n * kLn2Hi is exact.
  constexpr float kLog2e = 1.44269504f;
  constexpr float kLn2Hi = 0.693145751953125f;
  constexpr float kLn2Lo = 1.428606765330187e-06f;
  // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer (IEEE
  // round-to-nearest-even; exact, and never reassociated without -ffast-math).
  constexpr float kRound = 12582912.0f;
  x = Clamp(x, -87.0f, 88.0f);
  const float n = (x * kLog2e + kRound) - kRound;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  // e^r = sum r^k / k!, k <= 7 (Horner); the remainder is below 2^-24 e^r.
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n from its bits (n in [-126, 127]: a normal float), an exact scaling.
  return p * FromBits(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
}

inline __attribute__((always_inline)) float Sigmoid(float x) {
  return 1.0f / (1.0f + Exp(-x));
}

inline __attribute__((always_inline)) float Tanh(float x) {
  // tanh(9) rounds to 1 in float32.
  const uint32_t sign = Bits(x) & 0x80000000u;
  const float a = Clamp(FromBits(Bits(x) & 0x7fffffffu), 0.0f, 9.0f);
  return FromBits(Bits(1.0f - 2.0f / (Exp(2.0f * a) + 1.0f)) | sign);
}

}  // namespace

float QrnnExp(float x) { return Exp(x); }
float QrnnSigmoid(float x) { return Sigmoid(x); }
float QrnnTanh(float x) { return Tanh(x); }

namespace {

// QrnnPool's body, compiled twice on x86-64 (below).
inline __attribute__((always_inline)) void QrnnPoolBody(
    const float* taps, const int32_t* lengths, int64_t batch, int64_t time, int64_t units,
    int64_t kernel_width, int64_t directions, float* h) {
  const int64_t gates = 3 * units;
  const int64_t tap_row = directions * kernel_width * gates;  // taps per step
  const int64_t h_row = directions * units;
  std::vector<float> state(units), sum(gates);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lengths[b];
    const float* tb = taps + b * time * tap_row;
    float* hb = h + b * time * h_row;
    std::memset(hb + len * h_row, 0, (time - len) * h_row * sizeof(float));
    for (int64_t d = 0; d < directions; ++d) {
      const bool reverse = d == 1;
      std::fill(state.begin(), state.end(), 0.0f);
      for (int64_t i = 0; i < len; ++i) {
        const int64_t t = reverse ? len - 1 - i : i;
        const float* own = tb + t * tap_row + (d * kernel_width + kernel_width - 1) * gates;
        for (int64_t g = 0; g < gates; ++g) sum[g] = own[g];
        for (int64_t j = kernel_width - 2; j >= 0; --j) {
          const int64_t offset = kernel_width - 1 - j;
          const int64_t s = reverse ? t + offset : t - offset;
          if (s < 0 || s >= len) continue;
          const float* tap = tb + s * tap_row + (d * kernel_width + j) * gates;
          for (int64_t g = 0; g < gates; ++g) sum[g] = sum[g] + tap[g];
        }
        float* ht = hb + t * h_row + d * units;
        for (int64_t k = 0; k < units; ++k) {
          const float z = Tanh(sum[k]);
          const float f = Sigmoid(sum[units + k]);
          const float o = Sigmoid(sum[2 * units + k]);
          const float u = (1.0f - f) * z;
          const float c = f * state[k] + u;
          state[k] = c;
          ht[k] = o * c;
        }
      }
    }
  }
}

// On x86-64 an AVX-512 or AVX2 copy runs where the CPU has it (16- or 8-wide
// instead of SSE's 4-wide unit loop; 1.6x and about 2x faster than the next
// one down). Every operation is the same IEEE-rounded one (no FMA: the pragma
// above), so all copies give the same bits as each other and as the aarch64
// build. Chosen with a CPU check, not GCC's
// target_clones, whose ifunc symbols are exported despite -fvisibility=hidden.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PQRNN_X86_VECTOR_COPIES 1
__attribute__((target("avx2"))) void QrnnPoolAvx2(
    const float* taps, const int32_t* lengths, int64_t batch, int64_t time, int64_t units,
    int64_t kernel_width, int64_t directions, float* h) {
  QrnnPoolBody(taps, lengths, batch, time, units, kernel_width, directions, h);
}

// 512-bit vectors: GCC would otherwise keep to 256 bits; clang's target
// attribute takes one string, its vector width is a separate attribute.
#if defined(__clang__)
#define PQRNN_AVX512_TARGET __attribute__((target("avx512f"), min_vector_width(512)))
#else
#define PQRNN_AVX512_TARGET __attribute__((target("avx512f", "prefer-vector-width=512")))
#endif
PQRNN_AVX512_TARGET void QrnnPoolAvx512(
    const float* taps, const int32_t* lengths, int64_t batch, int64_t time, int64_t units,
    int64_t kernel_width, int64_t directions, float* h) {
  QrnnPoolBody(taps, lengths, batch, time, units, kernel_width, directions, h);
}
#endif

}  // namespace

#ifdef PQRNN_X86_VECTOR_COPIES
namespace {

enum class X86Copy { kSse, kAvx2, kAvx512 };

// The best copy the CPU has, or the one PQRNN_X86_COPY (sse, avx2, avx512)
// names, so that tests can run every copy on one machine. A copy the CPU lacks
// or an unknown name gets the best copy and one line on stderr.
X86Copy ChooseX86Copy() {
  const X86Copy best = __builtin_cpu_supports("avx512f") ? X86Copy::kAvx512
                       : __builtin_cpu_supports("avx2")  ? X86Copy::kAvx2
                                                          : X86Copy::kSse;
  const char* wanted = std::getenv("PQRNN_X86_COPY");
  if (wanted == nullptr || *wanted == '\0') return best;
  const struct { const char* name; X86Copy copy; } kCopies[] = {
      {"sse", X86Copy::kSse}, {"avx2", X86Copy::kAvx2}, {"avx512", X86Copy::kAvx512}};
  for (const auto& c : kCopies) {
    if (std::strcmp(wanted, c.name) == 0 && c.copy <= best) return c.copy;
  }
  std::fprintf(stderr, "PQRNN_X86_COPY=%s: not a copy this CPU has (sse, avx2, avx512); "
               "using the best one\n", wanted);
  return best;
}

}  // namespace
#endif

void QrnnPool(const float* taps, const int32_t* lengths, int64_t batch, int64_t time,
              int64_t units, int64_t kernel_width, int64_t directions, float* h) {
#ifdef PQRNN_X86_VECTOR_COPIES
  static const X86Copy kCopy = ChooseX86Copy();
  if (kCopy == X86Copy::kAvx512) {
    QrnnPoolAvx512(taps, lengths, batch, time, units, kernel_width, directions, h);
    return;
  }
  if (kCopy == X86Copy::kAvx2) {
    QrnnPoolAvx2(taps, lengths, batch, time, units, kernel_width, directions, h);
    return;
  }
#endif
  QrnnPoolBody(taps, lengths, batch, time, units, kernel_width, directions, h);
}

}  // namespace pqrnn
