// libFuzzer target for the TFLite adapter's Prepare/Invoke on untrusted input
// tensors: the string tensor buffer (int32 count, count + 1 int32 offsets,
// bytes) and its dims, under a fake TfLiteContext (tflite/fake_interpreter.h).
//
// Input layout:
//   [0]     flags: bit 0 well-formed (the rest is sentences split by 0xFF,
//           packed into a valid string tensor; else the rest is the raw
//           tensor buffer), bit 1 the small options below (else defaults,
//           feature_size 512), bits 2-4 rank 0-4 (5-7: dims == nullptr),
//           bit 5 a wrong input type, bit 6 Invoke twice
//   [1..16] four int32 dims (raw mode)
//   rest    sentences or raw tensor bytes
// Dims are full int32 values: TfLiteIo::Parse checks the rank before it reads
// them (a rank-4 product of large dims once overflowed int64 there).
//
// Checks: no crash or sanitizer report; a well-formed tensor is accepted;
// an accepted one gives outputs [batch, max_len >= 1, feature_size] and
// [batch], lengths in [0, max_len], finite features; failures report an
// error. Violations call __builtin_trap().
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "tflite/fake_interpreter.h"
#include "tflite/register.h"
#include "tflite/string_tensor.h"

namespace {

// flexbuffers.Dumps({'feature_size': 7, 'add_bos': True, 'add_eos': True,
//                    'char_ngram_size': 2, 'max_tokens': 5})
constexpr char kSmallOptions[] =
    "feature_size\0add_bos\0add_eos\0char_ngram_size\0max_tokens\0"
    "\x05\x2c\x25\x1e\x3c\x10\x05\x01\x05\x01\x01\x02\x07\x05\x68\x68\x04\x04"
    "\x04\x0a\x24\x01";
constexpr size_t kSmallOptionsSize = sizeof(kSmallOptions) - 1;
constexpr int kSmallFeatureSize = 7;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 17) return 0;
  const uint8_t flags = data[0];
  const bool well_formed = flags & 1;
  const bool small_options = flags & 2;
  const int rank = (flags >> 2) & 7;
  const bool wrong_type = flags & 32;
  const bool invoke_twice = flags & 64;
  const char* rest = reinterpret_cast<const char*>(data + 17);
  const size_t rest_size = size - 17;

  std::string buffer;
  std::vector<int> dims;
  if (well_formed) {
    std::vector<std::string> texts(1);
    for (size_t i = 0; i < rest_size; ++i) {
      if (static_cast<uint8_t>(rest[i]) == 0xFF) {
        texts.emplace_back();
      } else {
        texts.back() += rest[i];
      }
    }
    buffer = pqrnn::PackStrings(texts);
    dims = {static_cast<int>(texts.size())};
  } else {
    buffer.assign(rest, rest_size);
    for (int i = 0; i < rank && i < 4; ++i) {
      int32_t d;
      std::memcpy(&d, data + 1 + 4 * i, 4);
      dims.push_back(d);
    }
  }
  // The tensor's bytes in their own exact-size heap block.
  TfLiteTensor input = pqrnn::fake_tflite::InputTensor(kTfLiteString, dims, buffer);
  if (wrong_type) input.type = kTfLiteFloat32;
  if (buffer.empty() && !well_formed) {
    std::free(input.data.raw);
    input.data.raw = nullptr;
  }
  if (!well_formed && rank > 4) {
    std::free(input.dims);
    input.dims = nullptr;
  }
  pqrnn::fake_tflite::Node node({input, pqrnn::fake_tflite::OutputTensor(kTfLiteFloat32),
                                 pqrnn::fake_tflite::OutputTensor(kTfLiteInt32)},
                                1);
  const TfLiteRegistration& registration = *pqrnn::RegisterSequenceStringProjection();
  node.Init(registration, small_options ? std::string(kSmallOptions, kSmallOptionsSize)
                                        : std::string());
  const int feature_size = small_options ? kSmallFeatureSize : 512;
  const TfLiteStatus prepared = node.Prepare(registration);
  FUZZ_CHECK((prepared == kTfLiteOk) == !wrong_type, "Prepare returned %d",
             static_cast<int>(prepared));
  FUZZ_CHECK(prepared == kTfLiteOk || (node.num_errors() == 1 && !node.last_error().empty()),
             "Prepare failed with %d errors reported", node.num_errors());
  FUZZ_CHECK(prepared != kTfLiteOk || (node.tensor(1).allocation_type == kTfLiteDynamic &&
                                       node.tensor(2).allocation_type == kTfLiteDynamic),
             "outputs not marked dynamic by Prepare");
  for (int n = 0; prepared == kTfLiteOk && n < (invoke_twice ? 2 : 1); ++n) {
    node.ClearErrors();
    const TfLiteStatus invoked = node.Invoke(registration);
    FUZZ_CHECK(node.misuse().empty(), "%s", node.misuse().c_str());
    if (well_formed) {
      FUZZ_CHECK(invoked == kTfLiteOk, "a well-formed string tensor was rejected");
    }
    if (invoked != kTfLiteOk) {
      FUZZ_CHECK(node.num_errors() == 1, "Invoke failed, %d errors reported",
                 node.num_errors());
      FUZZ_CHECK(!node.last_error().empty(), "empty error message");
      continue;
    }
    const TfLiteTensor& features = node.tensor(1);
    const TfLiteTensor& lengths = node.tensor(2);
    FUZZ_CHECK(features.dims != nullptr && features.dims->size == 3 &&
                   lengths.dims != nullptr && lengths.dims->size == 1,
               "output ranks");
    const int batch = features.dims->data[0];
    const int max_len = features.dims->data[1];
    FUZZ_CHECK(dims.size() == 1 && batch == dims[0] && lengths.dims->data[0] == batch,
               "batch %d for input dims of rank %zu", batch, dims.size());
    FUZZ_CHECK(max_len >= 1 && features.dims->data[2] == feature_size,
               "features dims [%d, %d, %d]", batch, max_len, features.dims->data[2]);
    int longest = 0;
    for (int b = 0; b < batch; ++b) {
      const int32_t len = lengths.data.i32[b];
      FUZZ_CHECK(len >= 0 && len <= max_len, "length %d, max_len %d", len, max_len);
      longest = std::max(longest, len);
    }
    FUZZ_CHECK(max_len == std::max(1, longest), "max_len %d, longest %d", max_len,
               longest);
    const size_t cells = static_cast<size_t>(batch) * max_len * feature_size;
    for (size_t i = 0; i < cells; ++i) {
      FUZZ_CHECK(std::isfinite(features.data.f[i]), "feature %zu = %a", i,
                 features.data.f[i]);
    }
  }

  node.Free(registration);
  return 0;
}
