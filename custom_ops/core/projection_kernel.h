// The one kernel body shared by the TF op and the TFLite custom op. An adapter
// supplies the framework-specific I/O:
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

template <typename Io>
Status RunSequenceProjection(const SequenceProjector& projector, uint64_t call,
                             Io& io) {
  const int64_t batch = io.BatchSize();
  std::vector<TokenizedSentence> sentences(batch);
  int max_len = 1;  // never zero-size: see custom_ops/README.md
  for (int64_t b = 0; b < batch; ++b) {
    projector.Tokenize(io.Text(b), call, b, &sentences[b]);
    max_len = std::max(max_len, projector.NumRows(sentences[b]));
  }
  float* features = nullptr;
  int32_t* lengths = nullptr;
  Status status = io.AllocateOutputs(batch, max_len, projector.feature_size(),
                                     &features, &lengths);
  if (!status.ok()) return status;

  const size_t row = static_cast<size_t>(projector.feature_size());
  const size_t per_sentence = row * static_cast<size_t>(max_len);
  for (int64_t b = 0; b < batch; ++b) {
    const int len = projector.NumRows(sentences[b]);
    lengths[b] = len;
    float* out = features + b * per_sentence;
    projector.Project(sentences[b], out);
    std::memset(out + len * row, 0, (per_sentence - len * row) * sizeof(float));
  }
  return Status::Ok();
}

}  // namespace pqrnn

#endif  // PQRNN_CORE_PROJECTION_KERNEL_H_
