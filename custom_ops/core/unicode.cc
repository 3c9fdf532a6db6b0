#include "unicode.h"

#include <algorithm>
#include <iterator>

namespace pqrnn {
namespace {

struct LowercaseRun {
  uint32_t first;
  uint32_t last;
  int32_t delta;
  uint32_t stride;
};

constexpr LowercaseRun kLowercaseRuns[] = {
#include "unicode_lowercase.inc"
};

// Length of the well-formed sequence starting at s[i] (Unicode Table 3-7),
// or 0 if there is none.
int WellFormedLength(const unsigned char* s, size_t n, size_t i,
                     uint32_t* code_point) {
  const unsigned char b0 = s[i];
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  auto cont = [&](size_t k, unsigned char lo, unsigned char hi) {
    return i + k < n && s[i + k] >= lo && s[i + k] <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1, 0x80, 0xBF)) return 0;
    *code_point = ((b0 & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2, 0x80, 0xBF)) return 0;
    *code_point = ((b0 & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) |
                  (s[i + 2] & 0x3Fu);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2, 0x80, 0xBF) || !cont(3, 0x80, 0xBF)) {
      return 0;
    }
    *code_point = ((b0 & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) |
                  ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
    return 4;
  }
  return 0;
}

}  // namespace

namespace {

// Decodes `text`, calling emit(code_point, start_byte) for each code point.
template <typename Emit>
void DecodeEach(std::string_view text, Emit emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    uint32_t c = 0;
    const int len = WellFormedLength(s, n, i, &c);
    if (len == 0) {
      emit(kReplacementChar, i);
      ++i;
    } else {
      emit(c, i);
      i += len;
    }
  }
}

}  // namespace

void DecodeUtf8(std::string_view text, std::vector<uint32_t>* out) {
  DecodeEach(text, [out](uint32_t c, size_t) { out->push_back(c); });
}

void DecodeUtf8(std::string_view text, std::vector<uint32_t>* out,
                std::vector<size_t>* byte_starts) {
  DecodeEach(text, [out, byte_starts](uint32_t c, size_t start) {
    out->push_back(c);
    byte_starts->push_back(start);
  });
}

bool IsValidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    uint32_t c = 0;
    const int len = WellFormedLength(s, text.size(), i, &c);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

uint32_t SimpleLowercase(uint32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  // Last run whose first code point is <= c.
  const auto* end = std::end(kLowercaseRuns);
  const auto* it = std::upper_bound(
      std::begin(kLowercaseRuns), end, c,
      [](uint32_t v, const LowercaseRun& r) { return v < r.first; });
  if (it == std::begin(kLowercaseRuns)) return c;
  const LowercaseRun& run = *(it - 1);
  if (c > run.last || (c - run.first) % run.stride != 0) return c;
  return static_cast<uint32_t>(static_cast<int64_t>(c) + run.delta);
}

bool IsWhitespace(uint32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool IsUnsegmentedScript(uint32_t c) {
  if (c < 0x0E00) return false;
  return (c <= 0x0EFF) ||                     // Thai, Lao
         (c >= 0x1000 && c <= 0x109F) ||      // Myanmar
         (c >= 0x1780 && c <= 0x17FF) ||      // Khmer
         (c >= 0x3001 && c <= 0x30FF) ||      // CJK punctuation, kana
         (c >= 0x31F0 && c <= 0x31FF) ||      // Katakana extensions
         (c >= 0x3400 && c <= 0x4DBF) ||      // CJK extension A
         (c >= 0x4E00 && c <= 0x9FFF) ||      // CJK unified ideographs
         (c >= 0xF900 && c <= 0xFAFF) ||      // CJK compatibility
         (c >= 0xFF66 && c <= 0xFF9F) ||      // Halfwidth katakana
         (c >= 0x20000 && c <= 0x2FA1F) ||    // CJK extensions B..
         (c >= 0x30000 && c <= 0x3134F);      // CJK extension G
}

}  // namespace pqrnn
