// The 64-bit hashes of the projection spec (custom_ops/README.md, section 5).
#ifndef PQRNN_CORE_HASH_H_
#define PQRNN_CORE_HASH_H_

#include <cstdint>

namespace pqrnn {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
constexpr uint64_t kFnvOffset = 0xCBF29CE484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001B3ULL;

enum HashDomain : uint64_t {
  kTokenDomain = 1,
  kNgramDomain = 2,
  kBosDomain = 3,
  kEosDomain = 4,
};

// The splitmix64 finalizer.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

// Incremental FNV-1a over bytes read as unsigned values.
class Fnv1a64 {
 public:
  explicit Fnv1a64(uint64_t domain) : h_(kFnvOffset ^ (domain * kGolden)) {}
  void Byte(uint8_t b) { h_ = (h_ ^ b) * kFnvPrime; }
  // Feeds the UTF-8 encoding of one code point.
  void CodePoint(uint32_t c) {
    if (c < 0x80) {
      Byte(static_cast<uint8_t>(c));
    } else if (c < 0x800) {
      Byte(static_cast<uint8_t>(0xC0 | (c >> 6)));
      Byte(static_cast<uint8_t>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      Byte(static_cast<uint8_t>(0xE0 | (c >> 12)));
      Byte(static_cast<uint8_t>(0x80 | ((c >> 6) & 0x3F)));
      Byte(static_cast<uint8_t>(0x80 | (c & 0x3F)));
    } else {
      Byte(static_cast<uint8_t>(0xF0 | (c >> 18)));
      Byte(static_cast<uint8_t>(0x80 | ((c >> 12) & 0x3F)));
      Byte(static_cast<uint8_t>(0x80 | ((c >> 6) & 0x3F)));
      Byte(static_cast<uint8_t>(0x80 | (c & 0x3F)));
    }
  }
  uint64_t Key() const { return Mix64(h_); }

 private:
  uint64_t h_;
};

// splitmix64 stream, used for the distortion noise.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t Next() {
    state_ += kGolden;
    return Mix64(state_);
  }

 private:
  uint64_t state_;
};

}  // namespace pqrnn

#endif  // PQRNN_CORE_HASH_H_
