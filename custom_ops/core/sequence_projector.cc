#include "sequence_projector.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "hash.h"
#include "unicode.h"

namespace pqrnn {
namespace {

// The four ternary features encoded by each byte of a hash word
// (two bits each, low bits first: 0 -> 0, 1 -> +1, 2 -> -1, 3 -> 0).
struct TernaryTable {
  int8_t values[256][4];
  TernaryTable() {
    constexpr int8_t kMap[4] = {0, 1, -1, 0};
    for (int b = 0; b < 256; ++b) {
      for (int k = 0; k < 4; ++k) values[b][k] = kMap[(b >> (2 * k)) & 3];
    }
  }
};

const TernaryTable& Ternary() {
  static const TernaryTable* table = new TernaryTable();
  return *table;
}

// The same four features plus one, as four uint16 lanes in memory order, so
// that adding the 64-bit words of up to kMaxBiasedSums keys sums 4 features at
// a time with no carry crossing lanes (each lane grows by at most 2 a key).
struct BiasedTernaryTable {
  uint64_t lanes[256];
  BiasedTernaryTable() {
    const TernaryTable& ternary = Ternary();
    for (int b = 0; b < 256; ++b) {
      uint16_t four[4];
      for (int k = 0; k < 4; ++k) four[k] = static_cast<uint16_t>(ternary.values[b][k] + 1);
      std::memcpy(&lanes[b], four, sizeof four);
    }
  }
};
constexpr int kMaxBiasedSums = 32767;

const BiasedTernaryTable& BiasedTernary() {
  static const BiasedTernaryTable* table = new BiasedTernaryTable();
  return *table;
}

std::string AttrError(const char* name, const std::string& what) {
  return std::string("Invalid attribute '") + name + "' of " +
         PQRNN_PROJECTION_OP_NAME + ": " + what;
}

uint64_t TokenKey(const uint32_t* cps, size_t n, uint64_t domain) {
  Fnv1a64 h(domain);
  for (size_t i = 0; i < n; ++i) h.CodePoint(cps[i]);
  return h.Key();
}

}  // namespace

Status ProjectionConfig::Validate() const {
  if (feature_size < 1 || feature_size > kMaxFeatureSize) {
    return Status::InvalidArgument(AttrError(
        "feature_size", "must be in [1, " + std::to_string(kMaxFeatureSize) +
                            "], got " + std::to_string(feature_size)));
  }
  if (max_tokens < 0) {
    return Status::InvalidArgument(AttrError(
        "max_tokens", "must be >= 0 (0 = no limit), got " +
                          std::to_string(max_tokens)));
  }
  if (max_repeated_chars < 0) {
    return Status::InvalidArgument(AttrError(
        "max_repeated_chars", "must be >= 0 (0 = off), got " +
                                  std::to_string(max_repeated_chars)));
  }
  if (char_ngram_size < 0 || char_ngram_size > kMaxCharNgramSize) {
    return Status::InvalidArgument(AttrError(
        "char_ngram_size", "must be in [0, " +
                               std::to_string(kMaxCharNgramSize) + "], got " +
                               std::to_string(char_ngram_size)));
  }
  // Written so that NaN fails too.
  if (!(distortion_probability >= 0.0f && distortion_probability <= 1.0f)) {
    return Status::InvalidArgument(AttrError(
        "distortion_probability",
        "must be in [0, 1], got " + std::to_string(distortion_probability)));
  }
  if (!IsValidUtf8(separators)) {
    return Status::InvalidArgument(
        AttrError("separators", "must be valid UTF-8"));
  }
  return Status::Ok();
}

Status SequenceProjector::Create(const ProjectionConfig& config,
                                 std::unique_ptr<SequenceProjector>* out) {
  Status status = config.Validate();
  if (!status.ok()) return status;
  out->reset(new SequenceProjector(config));
  return Status::Ok();
}

SequenceProjector::SequenceProjector(const ProjectionConfig& config)
    : config_(config), num_words_((config.feature_size + 31) / 32) {
  DecodeUtf8(config.separators, &separators_);
  std::sort(separators_.begin(), separators_.end());
}

bool SequenceProjector::IsSeparator(uint32_t c) const {
  return !separators_.empty() &&
         std::binary_search(separators_.begin(), separators_.end(), c);
}

void SequenceProjector::Tokenize(std::string_view text, uint64_t call,
                                 int64_t sentence, TokenizedSentence* out,
                                 bool record_byte_spans) const {
  out->code_points.clear();
  out->token_ends.clear();
  out->byte_spans.clear();
  std::vector<uint32_t>& cps = out->code_points;
  std::vector<size_t> byte_starts;  // only with record_byte_spans
  if (record_byte_spans) {
    DecodeUtf8(text, &cps, &byte_starts);
    byte_starts.push_back(text.size());
  } else {
    DecodeUtf8(text, &cps);
  }

  // Split in place: kept code points are compacted to the front.
  size_t write = 0;
  size_t token_start = 0;
  size_t token_first_byte = 0;  // the current token's byte span, if recorded
  size_t token_end_byte = 0;
  const size_t max_tokens =
      config_.max_tokens > 0 ? static_cast<size_t>(config_.max_tokens) : SIZE_MAX;
  auto end_token = [&]() {
    if (write > token_start) {
      out->token_ends.push_back(write);
      if (record_byte_spans) {
        out->byte_spans.push_back(static_cast<int64_t>(token_first_byte));
        out->byte_spans.push_back(static_cast<int64_t>(token_end_byte));
      }
    }
    token_start = write;
  };
  // Code point i (kept or dropped) belongs to the current token.
  auto extend_span = [&](size_t i) {
    if (!record_byte_spans) return;
    if (write == token_start) token_first_byte = byte_starts[i];
    token_end_byte = byte_starts[i + 1];
  };
  for (size_t i = 0; i < cps.size() && out->token_ends.size() < max_tokens; ++i) {
    const uint32_t c = config_.lowercase ? SimpleLowercase(cps[i]) : cps[i];
    if (IsWhitespace(c) || IsSeparator(c)) {
      end_token();
      continue;
    }
    const int max_run = config_.max_repeated_chars;
    if (max_run > 0 && write - token_start >= static_cast<size_t>(max_run)) {
      bool run_full = true;
      for (int k = 1; k <= max_run && run_full; ++k) run_full = cps[write - k] == c;
      if (run_full) {
        extend_span(i);
        continue;
      }
    }
    if (config_.split_unsegmented_scripts && IsUnsegmentedScript(c)) {
      end_token();
      if (out->token_ends.size() >= max_tokens) break;
      extend_span(i);
      cps[write++] = c;
      end_token();
      continue;
    }
    extend_span(i);
    cps[write++] = c;
  }
  if (out->token_ends.size() < max_tokens) end_token();
  cps.resize(write);

  if (config_.distortion_probability > 0.0f) {
    const uint64_t seed = static_cast<uint64_t>(config_.distortion_seed);
    SplitMix64 rng(Mix64(Mix64(seed + call) + static_cast<uint64_t>(sentence)));
    const double p = config_.distortion_probability;
    for (uint32_t& c : cps) {
      const double u = static_cast<double>(rng.Next() >> 11) * 0x1.0p-53;
      if (u < p) c = 'a' + static_cast<uint32_t>(rng.Next() % 26);
    }
  }
}

int SequenceProjector::NumRows(const TokenizedSentence& sentence) const {
  return static_cast<int>(sentence.token_ends.size()) + (config_.add_bos ? 1 : 0) +
         (config_.add_eos ? 1 : 0);
}

// The 32 ternary features of one hash word, low bits first.
inline void ExpandWord(uint64_t word, int8_t out[32]) {
  const TernaryTable& table = Ternary();
  for (int b = 0; b < 8; ++b, word >>= 8) {
    std::memcpy(out + 4 * b, table.values[word & 0xFF], 4);
  }
}

// Calls fn(base, values, n) for each 32-feature block of key's vector: the
// block starts at feature `base` and its first n of 32 values are in range.
template <typename Fn>
inline void ForEachTernaryBlock(uint64_t key, int feature_size, Fn fn) {
  int8_t values[32];
  for (int base = 0, j = 1; base < feature_size; base += 32, ++j) {
    ExpandWord(Mix64(key + static_cast<uint64_t>(j) * kGolden), values);
    fn(base, values, std::min(32, feature_size - base));
  }
}

void SequenceProjector::WriteTernaryRow(uint64_t key, float* row) const {
  ForEachTernaryBlock(key, config_.feature_size,
                      [row](int base, const int8_t* values, int n) {
                        for (int k = 0; k < n; ++k) row[base + k] = values[k];
                      });
}

void SequenceProjector::AccumulateBiased(uint64_t key, uint16_t* lanes) const {
  const BiasedTernaryTable& table = BiasedTernary();
  for (int word = 0; word < num_words_; ++word) {
    uint64_t bits = Mix64(key + static_cast<uint64_t>(word + 1) * kGolden);
    for (int b = 0; b < 8; ++b, bits >>= 8, lanes += 4) {
      uint64_t four;
      std::memcpy(&four, lanes, sizeof four);
      four += table.lanes[bits & 0xFF];
      std::memcpy(lanes, &four, sizeof four);
    }
  }
}

void SequenceProjector::ProjectWithNgrams(const uint32_t* token, size_t length,
                                          NgramScratch* scratch, float* row) const {
  const int f = config_.feature_size;
  std::vector<uint16_t>& lanes = scratch->lanes;  // each: the feature's sum + keys_in_lanes
  std::vector<int32_t>& sums = scratch->sums;     // used by tokens of > kMaxBiasedSums keys
  lanes.assign(static_cast<size_t>(num_words_) * 32, 0);
  sums.clear();
  int32_t keys_in_lanes = 0;
  auto add = [&](uint64_t key) {
    if (keys_in_lanes == kMaxBiasedSums) {
      sums.resize(f, 0);
      for (int i = 0; i < f; ++i) sums[i] += lanes[i] - keys_in_lanes;
      std::fill(lanes.begin(), lanes.end(), 0);
      keys_in_lanes = 0;
    }
    AccumulateBiased(key, lanes.data());
    ++keys_in_lanes;
  };
  add(TokenKey(token, length, kTokenDomain));

  // The marked sequence '<' token '>' without copying: index i maps to it.
  const size_t marked = length + 2;
  auto at = [&](size_t i) -> uint32_t {
    return i == 0 ? '<' : (i == marked - 1 ? '>' : token[i - 1]);
  };
  const size_t n = static_cast<size_t>(config_.char_ngram_size);
  const size_t window = std::min(n, marked);
  const size_t num_ngrams = marked - window + 1;
  for (size_t start = 0; start < num_ngrams; ++start) {
    Fnv1a64 h(kNgramDomain);
    for (size_t i = start; i < start + window; ++i) h.CodePoint(at(i));
    add(h.Key());
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(1 + num_ngrams));
  const uint16_t* lane = lanes.data();
  if (sums.empty()) {
    for (int i = 0; i < f; ++i) {
      row[i] = static_cast<float>(static_cast<int32_t>(lane[i]) - keys_in_lanes) * scale;
    }
  } else {
    for (int i = 0; i < f; ++i) {
      row[i] = static_cast<float>(sums[i] + lane[i] - keys_in_lanes) * scale;
    }
  }
}

void SequenceProjector::Project(const TokenizedSentence& sentence,
                                float* out) const {
  const int f = config_.feature_size;
  NgramScratch scratch;
  float* row = out;
  if (config_.add_bos) {
    WriteTernaryRow(Fnv1a64(kBosDomain).Key(), row);
    row += f;
  }
  uint32_t start = 0;
  for (uint32_t end : sentence.token_ends) {
    const uint32_t* token = sentence.code_points.data() + start;
    const size_t length = end - start;
    if (config_.char_ngram_size > 0) {
      ProjectWithNgrams(token, length, &scratch, row);
    } else {
      WriteTernaryRow(TokenKey(token, length, kTokenDomain), row);
    }
    row += f;
    start = end;
  }
  if (config_.add_eos) WriteTernaryRow(Fnv1a64(kEosDomain).Key(), row);
}

}  // namespace pqrnn
