// libFuzzer target for the projection core (custom_ops/README.md).
//
// The first kHeaderSize bytes choose a ProjectionConfig, the next bytes are
// the `separators` attribute, and the rest is a batch of 1-4 sentences (see
// "Input layout" below; make_seed_corpus.py writes inputs in this format).
// Each input is run through the real kernel template, RunSequenceProjection,
// via a small Io adapter, and checked against:
//   - Validate/Create: a valid config is accepted, and each deliberately
//     invalid attribute (out of range, NaN, invalid UTF-8 separators) is
//     rejected with a message naming it;
//   - simple invariants: every output finite, ternary values when
//     char_ngram_size = 0, lengths within a bound,
//     max_len = max(1, longest), padding rows zero, every cell written;
//   - determinism: a second run (same call index) and a second projector from
//     the same config give identical bytes, and without distortion the call
//     index does not matter;
//   - an independent, deliberately naive reimplementation of the spec
//     (decoding, whitespace and script classes, tokenization, run cutting,
//     truncation, distortion, hashing, n-grams): output must match bit for
//     bit. Only the Unicode lowercase table is shared with the core.
// A violation prints what failed and calls __builtin_trap().
//
// Build (run_fuzzers.sh does this):
//   clang++ -g -O1 -fsanitize=fuzzer,address,undefined -std=c++17 \
//     -I custom_ops custom_ops/fuzz/projection_fuzzer.cc \
//     custom_ops/core/*.cc custom_ops/tflite/*.cc
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/projection_config.h"
#include "core/projection_kernel.h"
#include "core/sequence_projector.h"
#include "core/status.h"
#include "core/unicode.h"

#include "fuzz/fuzz_check.h"

namespace {

using pqrnn::ProjectionConfig;
using pqrnn::SequenceProjector;
using pqrnn::Status;

// ---------------------------------------------------------------------------
// Input layout (all multi-byte integers little-endian; missing bytes read 0):
//   [0]      feature_size: 1 + b % 96 (flag kBigFeatures: a larger size)
//   [1]      max_tokens: b < 128 ? 0 : 1 + (b & 15)
//   [2]      flags (below); bits 4-5: batch size - 1
//   [3]      max_repeated_chars: b % 5
//   [4]      char_ngram_size: b < 96 ? 0 : 1 + b % 8
//   [5]      distortion_probability: b < 128 ? 0 : see Probability()
//   [6]      separators length in bytes: b % 8
//   [7]      mode: < 0xF0 runs the config; else (b & 15) picks a case of
//            kModes (an invalid attribute, or a refused allocation)
//   [8..15]  distortion_seed (int64)
//   [16..23] call index (uint64)
//   then the separators bytes, then the sentences: split at the first
//   batch - 1 bytes 0xFF (0xFF never occurs in UTF-8).
constexpr size_t kHeaderSize = 24;
constexpr uint8_t kLowercase = 1 << 0;
constexpr uint8_t kSplitUnsegmented = 1 << 1;
constexpr uint8_t kAddBos = 1 << 2;
constexpr uint8_t kAddEos = 1 << 3;
constexpr uint8_t kInvalidSeparators = 1 << 6;  // append invalid UTF-8
constexpr uint8_t kBigFeatures = 1 << 7;        // only for short texts
constexpr size_t kBigFeaturesMaxText = 16;
constexpr uint8_t kSentenceSeparator = 0xFF;

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(U8()) << (8 * i);
    return v;
  }
  std::string_view Take(size_t n) {
    n = std::min(n, size_ - pos_);
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::string_view Rest() { return Take(size_ - pos_); }
  size_t position() const { return pos_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

float Probability(uint8_t b) {
  if (b < 128) return 0.0f;
  if (b == 255) return 1.0f;
  if (b == 254) return std::numeric_limits<float>::denorm_min();
  if (b == 253) return std::nextafter(1.0f, 0.0f);
  return static_cast<float>(b - 128) / 125.0f;
}

// Invalid attributes: Create must fail naming `name`. Validate checks
// `separators` last, so the forced attribute is the first invalid one.
struct Mode {
  const char* name;  // nullptr: valid config, but AllocateOutputs fails
  void (*apply)(ProjectionConfig*);
};
const Mode kModes[16] = {
    {"feature_size", [](ProjectionConfig* c) { c->feature_size = 0; }},
    {"feature_size", [](ProjectionConfig* c) { c->feature_size = INT32_MIN; }},
    {"feature_size",
     [](ProjectionConfig* c) { c->feature_size = pqrnn::kMaxFeatureSize + 1; }},
    {"max_tokens", [](ProjectionConfig* c) { c->max_tokens = -1; }},
    {"max_tokens", [](ProjectionConfig* c) { c->max_tokens = INT32_MIN; }},
    {"max_repeated_chars",
     [](ProjectionConfig* c) { c->max_repeated_chars = -1; }},
    {"char_ngram_size", [](ProjectionConfig* c) { c->char_ngram_size = -1; }},
    {"char_ngram_size",
     [](ProjectionConfig* c) { c->char_ngram_size = pqrnn::kMaxCharNgramSize + 1; }},
    {"distortion_probability",
     [](ProjectionConfig* c) {
       c->distortion_probability = std::numeric_limits<float>::quiet_NaN();
     }},
    {"distortion_probability",
     [](ProjectionConfig* c) {
       c->distortion_probability = -std::numeric_limits<float>::denorm_min();
     }},
    {"distortion_probability",
     [](ProjectionConfig* c) {
       c->distortion_probability = std::nextafter(1.0f, 2.0f);
     }},
    {"distortion_probability",
     [](ProjectionConfig* c) {
       c->distortion_probability = std::numeric_limits<float>::infinity();
     }},
    {"distortion_probability",
     [](ProjectionConfig* c) {
       c->distortion_probability = -std::numeric_limits<float>::infinity();
     }},
    {"separators", [](ProjectionConfig* c) { c->separators += "\xED\xA0\x80"; }},
    {"separators", [](ProjectionConfig* c) { c->separators += "\xF4\x90\x80\x80"; }},
    {nullptr, [](ProjectionConfig*) {}},
};

// ---------------------------------------------------------------------------
// The reference: written from custom_ops/README.md, sharing no code with the
// core except pqrnn::SimpleLowercase (a generated Unicode table).

// Section 1: at each position, a well-formed sequence or one U+FFFD per byte.
// Decodes by lead-byte length, then rejects overlong forms, surrogates and
// values above U+10FFFF (equivalent to Unicode Table 3-7).
bool RefDecodeAt(std::string_view s, size_t i, uint32_t* cp, size_t* len) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = b(i);
  size_t n;
  uint32_t v;
  if (b0 < 0x80) {
    *cp = b0;
    *len = 1;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    n = 2, v = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, v = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, v = b0 & 0x07;
  } else {
    return false;
  }
  if (i + n > s.size()) return false;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return false;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
  *cp = v;
  *len = n;
  return true;
}

std::vector<uint32_t> RefDecode(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t len;
    if (RefDecodeAt(s, i, &cp, &len)) {
      out.push_back(cp);
      i += len;
    } else {
      out.push_back(0xFFFD);
      ++i;
    }
  }
  return out;
}

bool RefValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t len;
    if (!RefDecodeAt(s, i, &cp, &len)) return false;
    i += len;
  }
  return true;
}

void RefEncode(uint32_t c, std::vector<uint8_t>* out) {
  if (c < 0x80) {
    out->push_back(static_cast<uint8_t>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<uint8_t>(0xC0 | (c >> 6)));
    out->push_back(static_cast<uint8_t>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<uint8_t>(0xE0 | (c >> 12)));
    out->push_back(static_cast<uint8_t>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<uint8_t>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<uint8_t>(0xF0 | (c >> 18)));
    out->push_back(static_cast<uint8_t>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<uint8_t>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<uint8_t>(0x80 | (c & 0x3F)));
  }
}

struct Range {
  uint32_t first, last;
};
bool InRanges(uint32_t c, const Range* ranges, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (c >= ranges[i].first && c <= ranges[i].last) return true;
  }
  return false;
}

// Section 3, copied from the spec's lists.
bool RefWhitespace(uint32_t c) {
  static constexpr Range kRanges[] = {
      {0x09, 0x0D},     {0x20, 0x20},     {0x85, 0x85},     {0xA0, 0xA0},
      {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2028}, {0x2029, 0x2029},
      {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}};
  return InRanges(c, kRanges, sizeof(kRanges) / sizeof(kRanges[0]));
}

bool RefUnsegmented(uint32_t c) {
  static constexpr Range kRanges[] = {
      {0x0E00, 0x0EFF},   {0x1000, 0x109F},   {0x1780, 0x17FF},
      {0x3001, 0x303F},   {0x3040, 0x30FF},   {0x31F0, 0x31FF},
      {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xF900, 0xFAFF},
      {0xFF66, 0xFF9F},   {0x20000, 0x2FA1F}, {0x30000, 0x3134F}};
  return InRanges(c, kRanges, sizeof(kRanges) / sizeof(kRanges[0]));
}

// Section 5.
uint64_t RefMix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

uint64_t RefKey(const std::vector<uint32_t>& cps, uint64_t domain) {
  std::vector<uint8_t> bytes;
  for (uint32_t c : cps) RefEncode(c, &bytes);
  uint64_t h = 0xCBF29CE484222325ULL ^ (domain * 0x9E3779B97F4A7C15ULL);
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001B3ULL;
  return RefMix64(h);
}

// Section 6: v(key), the ternary vector of `f` features.
std::vector<int> RefTernary(uint64_t key, int f) {
  std::vector<int> v(f);
  uint64_t w = 0;
  for (int i = 0; i < f; ++i) {
    if (i % 32 == 0) {
      w = RefMix64(key + static_cast<uint64_t>(i / 32 + 1) * 0x9E3779B97F4A7C15ULL);
    }
    const int t = static_cast<int>((w >> (2 * (i % 32))) & 3);
    v[i] = t == 1 ? 1 : (t == 2 ? -1 : 0);
  }
  return v;
}

// Sections 1-4: the kept tokens of one sentence.
std::vector<std::vector<uint32_t>> RefTokenize(const ProjectionConfig& config,
                                               std::string_view text,
                                               uint64_t call, uint64_t sentence) {
  std::vector<uint32_t> cps = RefDecode(text);
  if (config.lowercase) {
    for (uint32_t& c : cps) c = pqrnn::SimpleLowercase(c);
  }
  const std::vector<uint32_t> separators = RefDecode(config.separators);
  auto is_separator = [&](uint32_t c) {
    for (uint32_t s : separators) {
      if (s == c) return true;
    }
    return false;
  };
  std::vector<std::vector<uint32_t>> tokens;
  std::vector<uint32_t> current;
  auto flush = [&] {
    if (!current.empty()) tokens.push_back(current);
    current.clear();
  };
  for (uint32_t c : cps) {
    if (RefWhitespace(c) || is_separator(c)) {
      flush();
    } else if (config.split_unsegmented_scripts && RefUnsegmented(c)) {
      flush();
      tokens.push_back({c});
    } else {
      current.push_back(c);
    }
  }
  flush();
  if (config.max_repeated_chars > 0) {
    for (auto& token : tokens) {
      std::vector<uint32_t> cut;
      int run = 0;
      for (size_t i = 0; i < token.size(); ++i) {
        run = (i > 0 && token[i] == token[i - 1]) ? run + 1 : 1;
        if (run <= config.max_repeated_chars) cut.push_back(token[i]);
      }
      token = cut;
    }
  }
  if (config.max_tokens > 0 &&
      tokens.size() > static_cast<size_t>(config.max_tokens)) {
    tokens.resize(config.max_tokens);
  }
  const float p = config.distortion_probability;
  if (p > 0) {
    uint64_t state = RefMix64(
        RefMix64(static_cast<uint64_t>(config.distortion_seed) + call) + sentence);
    auto next = [&] {
      state += 0x9E3779B97F4A7C15ULL;
      return RefMix64(state);
    };
    for (auto& token : tokens) {
      for (uint32_t& c : token) {
        const double u = std::ldexp(static_cast<double>(next() >> 11), -53);
        if (u < static_cast<double>(p)) c = 'a' + static_cast<uint32_t>(next() % 26);
      }
    }
  }
  return tokens;
}

// Sections 6-7: the rows of one sentence.
std::vector<float> RefProject(const ProjectionConfig& config,
                              const std::vector<std::vector<uint32_t>>& tokens) {
  const int f = config.feature_size;
  std::vector<float> rows;
  auto ternary_row = [&](uint64_t key) {
    for (int x : RefTernary(key, f)) rows.push_back(static_cast<float>(x));
  };
  if (config.add_bos) ternary_row(RefKey({}, 3));
  for (const auto& token : tokens) {
    const uint64_t key = RefKey(token, 1);
    const size_t n = static_cast<size_t>(config.char_ngram_size);
    if (n == 0) {
      ternary_row(key);
      continue;
    }
    std::vector<uint32_t> marked = {'<'};
    marked.insert(marked.end(), token.begin(), token.end());
    marked.push_back('>');
    std::vector<uint64_t> keys = {key};
    if (marked.size() < n) {
      keys.push_back(RefKey(marked, 2));
    } else {
      for (size_t s = 0; s + n <= marked.size(); ++s) {
        keys.push_back(RefKey(
            std::vector<uint32_t>(marked.begin() + s, marked.begin() + s + n), 2));
      }
    }
    std::vector<int64_t> sums(f, 0);
    for (uint64_t k : keys) {
      const std::vector<int> v = RefTernary(k, f);
      for (int i = 0; i < f; ++i) sums[i] += v[i];
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(keys.size()));  // sqrtf
    for (int i = 0; i < f; ++i) rows.push_back(static_cast<float>(sums[i]) * scale);
  }
  if (config.add_eos) ternary_row(RefKey({}, 4));
  return rows;
}

// ---------------------------------------------------------------------------
// The Io adapter of projection_kernel.h over plain vectors. Outputs are
// poisoned (NaN, -1) so a cell the kernel does not write is caught.
class FuzzIo {
 public:
  FuzzIo(const std::vector<std::string_view>& texts, int feature_size,
         bool refuse_allocation)
      : texts_(texts),
        feature_size_(feature_size),
        refuse_allocation_(refuse_allocation) {}

  int64_t BatchSize() { return static_cast<int64_t>(texts_.size()); }

  std::string_view Text(int64_t i) {
    FUZZ_CHECK(i >= 0 && i < BatchSize(), "Text(%lld) of a batch of %zu",
               static_cast<long long>(i), texts_.size());
    return texts_[i];
  }

  Status AllocateOutputs(int64_t batch, int max_len, int feature_size,
                         float** features, int32_t** lengths) {
    ++allocations;
    FUZZ_CHECK(allocations == 1, "AllocateOutputs called %d times", allocations);
    FUZZ_CHECK(batch == BatchSize(), "batch %lld != %zu",
               static_cast<long long>(batch), texts_.size());
    FUZZ_CHECK(feature_size == feature_size_, "feature_size %d != %d",
               feature_size, feature_size_);
    FUZZ_CHECK(max_len >= 0, "max_len %d", max_len);
    max_len_ = max_len;
    if (refuse_allocation_) return Status::InvalidArgument("fuzz: refused");
    features_.assign(static_cast<size_t>(batch) * max_len * feature_size,
                     std::numeric_limits<float>::quiet_NaN());
    lengths_.assign(static_cast<size_t>(batch), -1);
    // Like a TFLite tensor of zero elements, an empty output may be null.
    *features = features_.empty() ? nullptr : features_.data();
    *lengths = lengths_.empty() ? nullptr : lengths_.data();
    return Status::Ok();
  }

  int allocations = 0;
  int max_len() const { return max_len_; }
  const std::vector<float>& features() const { return features_; }
  const std::vector<int32_t>& lengths() const { return lengths_; }

 private:
  const std::vector<std::string_view>& texts_;
  const int feature_size_;
  const bool refuse_allocation_;
  int max_len_ = -1;
  std::vector<float> features_;
  std::vector<int32_t> lengths_;
};

struct Output {
  int max_len;
  std::vector<float> features;
  std::vector<int32_t> lengths;
};

Output Run(const SequenceProjector& projector, uint64_t call,
           const std::vector<std::string_view>& texts) {
  FuzzIo io(texts, projector.feature_size(), /*refuse_allocation=*/false);
  const Status status = pqrnn::RunSequenceProjection(projector, call, io);
  FUZZ_CHECK(status.ok(), "RunSequenceProjection failed: %s",
             status.message().c_str());
  FUZZ_CHECK(io.allocations == 1, "AllocateOutputs called %d times",
             io.allocations);
  return {io.max_len(), io.features(), io.lengths()};
}

bool SameOutput(const Output& a, const Output& b) {
  return a.max_len == b.max_len && a.lengths == b.lengths &&
         a.features.size() == b.features.size() &&
         (a.features.empty() ||
          std::memcmp(a.features.data(), b.features.data(),
                      a.features.size() * sizeof(float)) == 0);
}

uint32_t Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

void CheckOutput(const ProjectionConfig& config, uint64_t call,
                 const std::vector<std::string_view>& texts, const Output& out) {
  const size_t f = static_cast<size_t>(config.feature_size);
  const size_t batch = texts.size();
  const int extra = (config.add_bos ? 1 : 0) + (config.add_eos ? 1 : 0);
  FUZZ_CHECK(out.lengths.size() == batch, "%zu lengths", out.lengths.size());
  FUZZ_CHECK(out.features.size() == batch * out.max_len * f, "%zu features",
             out.features.size());
  // The spec: the longest sentence's length, but at least 1 (no zero-size
  // outputs; an all-empty batch gets one all-zero row).
  int longest = 0;
  for (size_t b = 0; b < batch; ++b) longest = std::max(longest, out.lengths[b]);
  FUZZ_CHECK(out.max_len == std::max(1, longest),
             "max_len %d, longest sentence %d", out.max_len, longest);

  for (size_t b = 0; b < batch; ++b) {
    const int len = out.lengths[b];
    const float* rows = out.features.data() + b * out.max_len * f;
    // Simple invariants first: they localize a failure better than the diff.
    const std::vector<uint32_t> cps = RefDecode(texts[b]);
    size_t pieces = 0;  // whitespace-separated pieces
    for (size_t i = 0; i < cps.size(); ++i) {
      if (!RefWhitespace(cps[i]) && (i == 0 || RefWhitespace(cps[i - 1]))) ++pieces;
    }
    FUZZ_CHECK(len >= extra, "sentence %zu: length %d < %d", b, len, extra);
    FUZZ_CHECK(static_cast<size_t>(len - extra) <= cps.size(),
               "sentence %zu: %d text tokens from %zu code points", b,
               len - extra, cps.size());
    if (config.max_tokens > 0) {
      FUZZ_CHECK(len - extra <= config.max_tokens,
                 "sentence %zu: %d text tokens, max_tokens %d", b, len - extra,
                 config.max_tokens);
    }
    if (!config.split_unsegmented_scripts && config.separators.empty()) {
      FUZZ_CHECK(static_cast<size_t>(len - extra) <= pieces,
                 "sentence %zu: %d text tokens from %zu pieces", b, len - extra,
                 pieces);
    }
    for (size_t i = 0; i < static_cast<size_t>(out.max_len) * f; ++i) {
      const float v = rows[i];
      FUZZ_CHECK(std::isfinite(v), "sentence %zu, row %zu, feature %zu: %a", b,
                 i / f, i % f, v);
      if (i >= static_cast<size_t>(len) * f) {
        FUZZ_CHECK(Bits(v) == 0, "sentence %zu: padding row %zu has %a", b,
                   i / f, v);
      } else if (config.char_ngram_size == 0) {
        FUZZ_CHECK(v == 0.0f || v == 1.0f || v == -1.0f,
                   "sentence %zu, row %zu, feature %zu: %a not ternary", b,
                   i / f, i % f, v);
      }
    }

    // The reference, bit for bit.
    const auto tokens = RefTokenize(config, texts[b], call, b);
    FUZZ_CHECK(static_cast<size_t>(len) == tokens.size() + extra,
               "sentence %zu: length %d, reference %zu + %d", b, len,
               tokens.size(), extra);
    const std::vector<float> expected = RefProject(config, tokens);
    FUZZ_CHECK(expected.size() == static_cast<size_t>(len) * f, "reference size");
    for (size_t i = 0; i < expected.size(); ++i) {
      FUZZ_CHECK(Bits(rows[i]) == Bits(expected[i]),
                 "sentence %zu, row %zu, feature %zu: %a, reference %a", b,
                 i / f, i % f, rows[i], expected[i]);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  const uint8_t b_feature = in.U8();
  const uint8_t b_max_tokens = in.U8();
  const uint8_t flags = in.U8();
  const uint8_t b_repeat = in.U8();
  const uint8_t b_ngram = in.U8();
  const uint8_t b_prob = in.U8();
  const uint8_t b_sep_len = in.U8();
  const uint8_t b_mode = in.U8();
  const uint64_t seed = in.U64();
  const uint64_t call = in.U64();
  FUZZ_CHECK(in.position() == std::min(size, kHeaderSize), "header layout");

  ProjectionConfig config;
  config.feature_size = 1 + b_feature % 96;
  config.max_tokens = b_max_tokens < 128 ? 0 : 1 + (b_max_tokens & 15);
  config.lowercase = flags & kLowercase;
  config.split_unsegmented_scripts = flags & kSplitUnsegmented;
  config.add_bos = flags & kAddBos;
  config.add_eos = flags & kAddEos;
  config.max_repeated_chars = b_repeat % 5;
  config.char_ngram_size = b_ngram < 96 ? 0 : 1 + b_ngram % 8;
  config.distortion_probability = Probability(b_prob);
  config.distortion_seed = static_cast<int64_t>(seed);
  config.separators = std::string(in.Take(b_sep_len % 8));
  if (flags & kInvalidSeparators) config.separators += "\xC0\xAF";  // overlong '/'

  const size_t batch = 1 + ((flags >> 4) & 3);
  const std::string_view text = in.Rest();
  if ((flags & kBigFeatures) && text.size() <= kBigFeaturesMaxText) {
    static constexpr int kBig[] = {97, 128, 129, 255, 1000, 4096,
                                   pqrnn::kMaxFeatureSize};
    config.feature_size = kBig[b_feature % (sizeof(kBig) / sizeof(kBig[0]))];
  }
  std::vector<std::string_view> texts;
  size_t start = 0;
  for (size_t i = 0; i + 1 < batch; ++i) {
    const size_t end = text.find(static_cast<char>(kSentenceSeparator), start);
    if (end == std::string_view::npos) {
      texts.push_back(text.substr(std::min(start, text.size())));
      start = text.size() + 1;
    } else {
      texts.push_back(text.substr(start, end - start));
      start = end + 1;
    }
  }
  texts.push_back(start <= text.size() ? text.substr(start) : std::string_view());

  const Mode* mode = b_mode >= 0xF0 ? &kModes[b_mode & 15] : nullptr;
  if (mode != nullptr) mode->apply(&config);
  const char* invalid = mode != nullptr ? mode->name : nullptr;
  if (invalid == nullptr && !RefValidUtf8(config.separators)) invalid = "separators";
  FUZZ_CHECK(config.Validate().ok() == (invalid == nullptr),
             "Validate() = %d for a config that is %s",
             static_cast<int>(config.Validate().ok()),
             invalid ? invalid : "valid");

  std::unique_ptr<SequenceProjector> projector;
  const Status created = SequenceProjector::Create(config, &projector);
  if (invalid != nullptr) {
    const std::string quoted = std::string("'") + invalid + "'";
    FUZZ_CHECK(!created.ok(), "Create accepted an invalid %s", invalid);
    FUZZ_CHECK(created.message().find(quoted) != std::string::npos,
               "error does not name %s: %s", quoted.c_str(),
               created.message().c_str());
    return 0;
  }
  FUZZ_CHECK(created.ok() && projector != nullptr, "Create failed: %s",
             created.message().c_str());

  if (mode != nullptr) {  // the refused-allocation case
    FuzzIo io(texts, config.feature_size, /*refuse_allocation=*/true);
    const Status status = pqrnn::RunSequenceProjection(*projector, call, io);
    FUZZ_CHECK(!status.ok() && status.message() == "fuzz: refused",
               "allocation failure not propagated: '%s'",
               status.message().c_str());
    return 0;
  }

  const Output first = Run(*projector, call, texts);
  CheckOutput(config, call, texts, first);

  // Determinism: the same call again, and a fresh projector.
  FUZZ_CHECK(SameOutput(first, Run(*projector, call, texts)),
             "second run with call %llu differs",
             static_cast<unsigned long long>(call));
  std::unique_ptr<SequenceProjector> again;
  FUZZ_CHECK(SequenceProjector::Create(config, &again).ok(), "second Create");
  FUZZ_CHECK(SameOutput(first, Run(*again, call, texts)),
             "a second projector differs");
  if (config.distortion_probability == 0.0f) {
    FUZZ_CHECK(SameOutput(first, Run(*projector, call + 1, texts)),
               "without distortion, the call index changed the output");
  }
  return 0;
}
