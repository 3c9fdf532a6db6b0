// libFuzzer target for the TFLite custom-options reader: the input is the
// custom_options byte string of a (possibly corrupt or hostile) .tflite model.
//
//  1. pqrnn::FlexMapReader directly: construct it, Find every attribute of
//     PQRNN_PROJECTION_ATTRS (plus a few near misses and a key taken from the
//     input) and read each found value with AsInt, AsDouble and AsString.
//     ASan reports any read outside the buffer (the input is copied to a heap
//     block of exactly its size), UBSan any undefined arithmetic.
//  2. The TFLite adapter's init/free (what the interpreter calls with these
//     bytes, through the op's registration): it must not crash, and a success
//     must yield a projector whose config passes Validate().
// Consistency checks that fail call __builtin_trap().
//
// Build (run_fuzzers.sh does this):
//   clang++ -g -O1 -fsanitize=fuzzer,address,undefined -std=c++17 \
//     -I custom_ops custom_ops/fuzz/flexbuffers_fuzzer.cc \
//     custom_ops/core/*.cc custom_ops/tflite/*.cc
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/flexbuffers_reader.h"
#include "core/projection_config.h"

#include "fuzz/fuzz_check.h"
#include "tflite/register.h"
#include "tflite/sequence_projection_tflite.h"

namespace {

constexpr const char* kAttributeNames[] = {
#define PQRNN_FUZZ_NAME(type, name, default_value) #name,
    PQRNN_PROJECTION_ATTRS(PQRNN_FUZZ_NAME)
#undef PQRNN_FUZZ_NAME
    // Near misses: prefixes/extensions of real keys and the empty key.
    "", "feature", "feature_size_", "add_", "separator",
};

void ReadValue(const pqrnn::FlexMapReader& reader,
               const pqrnn::FlexMapReader::Value& value, size_t size,
               const char* key) {
  int64_t i = 0;
  double d = 0;
  std::string s;
  const bool is_int = reader.AsInt(value, &i);
  const bool is_double = reader.AsDouble(value, &d);
  const bool is_string = reader.AsString(value, &s);
  // AsDouble falls back to AsInt for integer types.
  if (is_int) {
    FUZZ_CHECK(is_double && d == static_cast<double>(i),
               "key '%s': AsInt %lld but AsDouble %d/%g", key,
               static_cast<long long>(i), is_double, d);
  }
  FUZZ_CHECK(!(is_string && (is_int || is_double)),
             "key '%s': read both as a string and a number", key);
  if (is_string) {
    FUZZ_CHECK(s.size() <= size, "key '%s': string of %zu bytes from %zu",
               key, s.size(), size);
  }
  // Reading twice gives the same answer (the reader has no state).
  int64_t i2 = 0;
  FUZZ_CHECK(reader.AsInt(value, &i2) == is_int && (!is_int || i2 == i),
             "key '%s': AsInt not repeatable", key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exactly `size` bytes on the heap, so ASan flags a read one past the end.
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[size == 0 ? 1 : size]);
  if (size > 0) std::memcpy(buffer.get(), data, size);

  const pqrnn::FlexMapReader reader(buffer.get(), size);
  // A key from the input (up to its first NUL), so the fuzzer can reach
  // lookups of keys it planted.
  const std::string own_key(reinterpret_cast<const char*>(data),
                            strnlen(reinterpret_cast<const char*>(data),
                                    std::min<size_t>(size, 32)));
  std::string keys[sizeof(kAttributeNames) / sizeof(kAttributeNames[0]) + 1];
  size_t num_keys = 0;
  for (const char* name : kAttributeNames) keys[num_keys++] = name;
  keys[num_keys++] = own_key;

  for (size_t k = 0; k < num_keys; ++k) {
    pqrnn::FlexMapReader::Value value;
    const bool found = reader.Find(keys[k], &value);
    FUZZ_CHECK(!found || reader.ok(), "Find succeeded on a rejected buffer");
    if (found) ReadValue(reader, value, size, keys[k].c_str());
  }

  // The adapter path the interpreter takes with these bytes.
  const TfLiteRegistration& registration = *pqrnn::RegisterSequenceStringProjection();
  void* op = registration.init(nullptr, reinterpret_cast<const char*>(buffer.get()), size);
  FUZZ_CHECK(op != nullptr, "Init returned null");
  const auto* op_data = static_cast<const pqrnn::ProjectionOpData*>(op);
  if (op_data->init_status.ok()) {
    FUZZ_CHECK(op_data->projector != nullptr, "Init ok without a projector");
    FUZZ_CHECK(op_data->projector->config().Validate().ok(),
               "Init accepted an invalid config");
  } else {
    FUZZ_CHECK(op_data->projector == nullptr, "Init failed with a projector");
    FUZZ_CHECK(!op_data->init_status.message().empty(), "empty error");
  }
  registration.free(nullptr, op);
  return 0;
}
