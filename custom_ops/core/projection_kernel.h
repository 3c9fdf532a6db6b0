// The one kernel body shared by the TF op, the TFLite custom op and the C API
// (custom_ops/c). An op adapter supplies the framework-specific I/O:
//
//   int64_t BatchSize();
//   std::string_view Text(int64_t i);
//   Status AllocateOutputs(int64_t batch, int max_len, int feature_size,
//                          float** features, int32_t** lengths);
#ifndef PQRNN_CORE_PROJECTION_KERNEL_H_
#define PQRNN_CORE_PROJECTION_KERNEL_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "sequence_projector.h"
#include "status.h"

namespace pqrnn {

// Steps 1-4 for `batch` sentences into sentences[0, batch) (each reused);
// text_at(b) gives sentence b's bytes. Returns max_len: the largest row
// count, but at least 1 (never zero-size: see custom_ops/README.md).
template <typename TextAt>
int TokenizeBatch(const SequenceProjector& projector, uint64_t call,
                  int64_t batch, TextAt text_at, TokenizedSentence* sentences,
                  bool record_byte_spans = false) {
  int max_len = 1;
  for (int64_t b = 0; b < batch; ++b) {
    projector.Tokenize(text_at(b), call, b, &sentences[b], record_byte_spans);
    max_len = std::max(max_len, projector.NumRows(sentences[b]));
  }
  return max_len;
}

// Steps 5-7: fills features [batch, max_len, feature_size] (rows past a
// sentence's length are zero) and, unless null, lengths [batch].
inline void ProjectBatch(const SequenceProjector& projector,
                         const TokenizedSentence* sentences, int64_t batch,
                         int max_len, float* features, int32_t* lengths) {
  const size_t row = static_cast<size_t>(projector.feature_size());
  const size_t per_sentence = row * static_cast<size_t>(max_len);
  for (int64_t b = 0; b < batch; ++b) {
    const int len = projector.NumRows(sentences[b]);
    if (lengths != nullptr) lengths[b] = len;
    float* out = features + b * per_sentence;
    projector.Project(sentences[b], out);
    std::memset(out + len * row, 0, (per_sentence - len * row) * sizeof(float));
  }
}

template <typename Io>
Status RunSequenceProjection(const SequenceProjector& projector, uint64_t call,
                             Io& io) {
  const int64_t batch = io.BatchSize();
  std::vector<TokenizedSentence> sentences(batch);
  const int max_len = TokenizeBatch(
      projector, call, batch, [&io](int64_t b) { return io.Text(b); },
      sentences.data());
  float* features = nullptr;
  int32_t* lengths = nullptr;
  Status status = io.AllocateOutputs(batch, max_len, projector.feature_size(),
                                     &features, &lengths);
  if (!status.ok()) return status;
  ProjectBatch(projector, sentences.data(), batch, max_len, features, lengths);
  return Status::Ok();
}

}  // namespace pqrnn

#endif  // PQRNN_CORE_PROJECTION_KERNEL_H_
