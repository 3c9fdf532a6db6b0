// The projection op's name and attributes, declared once. The TF op
// registration, the TFLite custom-options reader and the Python wrapper all
// derive from PQRNN_PROJECTION_ATTRS; custom_ops/README.md specifies them.
#ifndef PQRNN_CORE_PROJECTION_CONFIG_H_
#define PQRNN_CORE_PROJECTION_CONFIG_H_

#include <cstdint>
#include <string>

#include "status.h"

#define PQRNN_PROJECTION_OP_NAME "PqrnnSequenceStringProjection"

// X(c++ type, attribute name, default value)
#define PQRNN_PROJECTION_ATTRS(X)             \
  X(int32_t, feature_size, 512)               \
  X(int32_t, max_tokens, 0)                   \
  X(bool, lowercase, true)                    \
  X(std::string, separators, "")              \
  X(bool, split_unsegmented_scripts, true)    \
  X(int32_t, max_repeated_chars, 0)           \
  X(bool, add_bos, false)                     \
  X(bool, add_eos, false)                     \
  X(int32_t, char_ngram_size, 0)              \
  X(float, distortion_probability, 0.0f)      \
  X(int64_t, distortion_seed, 0)

namespace pqrnn {

constexpr int kMaxFeatureSize = 16384;
constexpr int kMaxCharNgramSize = 8;

struct ProjectionConfig {
#define PQRNN_DECLARE_FIELD(type, name, default_value) type name = default_value;
  PQRNN_PROJECTION_ATTRS(PQRNN_DECLARE_FIELD)
#undef PQRNN_DECLARE_FIELD

  // Returns an InvalidArgument status naming the first invalid attribute.
  Status Validate() const;
};

}  // namespace pqrnn

#endif  // PQRNN_CORE_PROJECTION_CONFIG_H_
