// The projection kernel's per-node state (what its TFLite `init` returns and
// `free` deletes), declared here for programs that check it after `init`
// (fuzz/flexbuffers_fuzzer.cc); the interpreter treats it as opaque.
#ifndef PQRNN_TFLITE_SEQUENCE_PROJECTION_TFLITE_H_
#define PQRNN_TFLITE_SEQUENCE_PROJECTION_TFLITE_H_

#include <cstdint>
#include <memory>

#include "core/sequence_projector.h"
#include "core/status.h"

namespace pqrnn {

struct ProjectionOpData {
  std::unique_ptr<SequenceProjector> projector;  // null unless init_status is ok
  Status init_status;                            // reported by Prepare
  uint64_t calls = 0;                            // seeds the distortion noise
};

}  // namespace pqrnn

#endif  // PQRNN_TFLITE_SEQUENCE_PROJECTION_TFLITE_H_
