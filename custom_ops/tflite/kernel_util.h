// Helpers shared by the TFLite adapters: error reporting, output dims, and
// reading attributes from the converter's FlexBuffer custom options.
#ifndef PQRNN_TFLITE_KERNEL_UTIL_H_
#define PQRNN_TFLITE_KERNEL_UTIL_H_

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/flexbuffers_reader.h"
#include "core/status.h"
#include "tflite/tflite_abi.h"

namespace pqrnn {

constexpr int32_t kBuiltinCustom = 32;

inline TfLiteStatus Report(TfLiteContext* context, const Status& status) {
  context->ReportError(context, "%s", status.message().c_str());
  return kTfLiteError;
}

// A malloc'd TfLiteIntArray: a shape for ResizeTensor, which takes ownership
// (the runtime frees it), or a node's tensor list in the test drivers.
inline TfLiteIntArray* NewDims(const int* dims, size_t count) {
  auto* a = static_cast<TfLiteIntArray*>(
      malloc(sizeof(TfLiteIntArray) + count * sizeof(int)));
  if (a == nullptr) return nullptr;
  a->size = static_cast<int>(count);
  for (size_t i = 0; i < count; ++i) a->data[i] = dims[i];
  return a;
}
inline TfLiteIntArray* NewDims(std::initializer_list<int> dims) {
  return NewDims(dims.begin(), dims.size());
}
inline TfLiteIntArray* NewDims(const std::vector<int>& dims) {
  return NewDims(dims.data(), dims.size());
}

// A custom-op registration with all other fields zeroed (the runtime copies
// it by value, so unused fields must be valid).
inline TfLiteRegistration MakeCustomRegistration(
    const char* name, void* (*init)(TfLiteContext*, const char*, size_t),
    void (*free_fn)(TfLiteContext*, void*),
    TfLiteStatus (*prepare)(TfLiteContext*, TfLiteNode*),
    TfLiteStatus (*invoke)(TfLiteContext*, TfLiteNode*)) {
  TfLiteRegistration r;
  std::memset(&r, 0, sizeof(r));
  r.init = init;
  r.free = free_fn;
  r.prepare = prepare;
  r.invoke = invoke;
  r.builtin_code = kBuiltinCustom;
  r.custom_name = name;
  r.version = 1;
  return r;
}

// Makes `tensor` runtime-allocated at ResizeTensor time. A pointer the arena
// planner may have set is dropped, not freed: it belongs to the arena, and
// ResizeTensor would otherwise realloc() it.
inline void SetTensorToDynamic(TfLiteTensor* tensor) {
  if (tensor->allocation_type != kTfLiteDynamic) {
    tensor->data.raw = nullptr;
    tensor->bytes = 0;
    tensor->allocation_type = kTfLiteDynamic;
  }
}

// Attribute readers: an absent key keeps the default.
inline Status Missing(const char* name) {
  return Status::InvalidArgument(
      std::string("custom option '") + name + "' has the wrong type or is malformed");
}

inline Status ReadOption(const FlexMapReader& m, const char* name, int32_t* out) {
  FlexMapReader::Value v;
  if (!m.Find(name, &v)) return Status::Ok();  // absent: keep the default
  int64_t i = 0;
  if (!m.AsInt(v, &i)) return Missing(name);
  if (i < INT32_MIN || i > INT32_MAX) {
    return Status::InvalidArgument(std::string("Invalid attribute '") + name +
                                   "': out of int32 range");
  }
  *out = static_cast<int32_t>(i);
  return Status::Ok();
}
inline Status ReadOption(const FlexMapReader& m, const char* name, int64_t* out) {
  FlexMapReader::Value v;
  if (!m.Find(name, &v)) return Status::Ok();
  return m.AsInt(v, out) ? Status::Ok() : Missing(name);
}
inline Status ReadOption(const FlexMapReader& m, const char* name, bool* out) {
  FlexMapReader::Value v;
  if (!m.Find(name, &v)) return Status::Ok();
  int64_t i = 0;
  if (!m.AsInt(v, &i)) return Missing(name);
  *out = i != 0;
  return Status::Ok();
}
inline Status ReadOption(const FlexMapReader& m, const char* name, float* out) {
  FlexMapReader::Value v;
  if (!m.Find(name, &v)) return Status::Ok();
  double d = 0;
  if (!m.AsDouble(v, &d)) return Missing(name);
  *out = static_cast<float>(d);
  return Status::Ok();
}
inline Status ReadOption(const FlexMapReader& m, const char* name, std::string* out) {
  FlexMapReader::Value v;
  if (!m.Find(name, &v)) return Status::Ok();
  return m.AsString(v, out) ? Status::Ok() : Missing(name);
}

}  // namespace pqrnn

#endif  // PQRNN_TFLITE_KERNEL_UTIL_H_
