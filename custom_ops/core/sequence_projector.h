// The pQRNN sequence string projection, framework-free (custom_ops/README.md).
#ifndef PQRNN_CORE_SEQUENCE_PROJECTOR_H_
#define PQRNN_CORE_SEQUENCE_PROJECTOR_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "projection_config.h"
#include "status.h"

namespace pqrnn {

// A sentence after decoding, lowercasing, splitting, truncation and
// distortion: the text tokens' code points, concatenated.
struct TokenizedSentence {
  std::vector<uint32_t> code_points;
  std::vector<uint32_t> token_ends;  // exclusive end offsets into code_points
  // Filled only when Tokenize is asked to: [start, end) byte offsets in the
  // input of each text token, flattened (start0, end0, start1, ...). A token
  // covers every input code point it was made of, including those that
  // max_repeated_chars dropped.
  std::vector<int64_t> byte_spans;
};

class SequenceProjector {
 public:
  // Validates `config`; on success `*out` holds the projector.
  static Status Create(const ProjectionConfig& config,
                       std::unique_ptr<SequenceProjector>* out);

  const ProjectionConfig& config() const { return config_; }
  int feature_size() const { return config_.feature_size; }

  // Steps 1-4 of the spec. `call` and `sentence` seed the distortion noise.
  // With `record_byte_spans`, also fills out->byte_spans (costs a little).
  void Tokenize(std::string_view text, uint64_t call, int64_t sentence,
                TokenizedSentence* out, bool record_byte_spans = false) const;

  // Rows the sentence projects to (text tokens plus BOS/EOS).
  int NumRows(const TokenizedSentence& sentence) const;

  // Steps 5-7: writes NumRows(sentence) * feature_size() floats to `out`.
  void Project(const TokenizedSentence& sentence, float* out) const;

 private:
  explicit SequenceProjector(const ProjectionConfig& config);
  bool IsSeparator(uint32_t c) const;
  void WriteTernaryRow(uint64_t key, float* row) const;
  // Buffers reused across one sentence's tokens.
  struct NgramScratch {
    std::vector<uint16_t> lanes;
    std::vector<int32_t> sums;
  };
  // Adds key's ternary features + 1 to `lanes` (one uint16 per feature).
  void AccumulateBiased(uint64_t key, uint16_t* lanes) const;
  void ProjectWithNgrams(const uint32_t* token, size_t length,
                         NgramScratch* scratch, float* row) const;

  ProjectionConfig config_;
  std::vector<uint32_t> separators_;  // sorted code points
  int num_words_;                     // 64-bit hash words per vector
};

}  // namespace pqrnn

#endif  // PQRNN_CORE_SEQUENCE_PROJECTOR_H_
