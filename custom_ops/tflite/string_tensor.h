// Writing TFLite's string tensor layout (the kernels parse it): int32 count
// N, N + 1 int32 byte offsets from the start of the buffer, then the bytes.
// For programs that drive the kernels with hand-built tensors (the fuzzer,
// the aarch64 kernel runner).
#ifndef PQRNN_TFLITE_STRING_TENSOR_H_
#define PQRNN_TFLITE_STRING_TENSOR_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace pqrnn {

// The buffer of a string tensor holding `texts`.
inline std::string PackStrings(const std::vector<std::string>& texts) {
  const int32_t count = static_cast<int32_t>(texts.size());
  std::string out(4 + 4 * (texts.size() + 1), '\0');
  std::memcpy(&out[0], &count, 4);
  int32_t offset = static_cast<int32_t>(out.size());
  for (size_t i = 0; i <= texts.size(); ++i) {
    std::memcpy(&out[4 + 4 * i], &offset, 4);
    if (i < texts.size()) offset += static_cast<int32_t>(texts[i].size());
  }
  for (const std::string& t : texts) out += t;
  return out;
}

}  // namespace pqrnn

#endif  // PQRNN_TFLITE_STRING_TENSOR_H_
