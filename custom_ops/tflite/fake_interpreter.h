// The interpreter's side of the TFLite C ABI, for programs that drive the
// kernels with no TFLite library (arm/kernel_runner.cc, fuzz/tflite_invoke_fuzzer.cc):
// one node over hand-built tensors, and a context whose ResizeTensor and
// ReportError behave as the interpreter's do. Header-only.
#ifndef PQRNN_TFLITE_FAKE_INTERPRETER_H_
#define PQRNN_TFLITE_FAKE_INTERPRETER_H_

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tflite/kernel_util.h"
#include "tflite/tflite_abi.h"

namespace pqrnn {
namespace fake_tflite {

inline size_t ElementSize(TfLiteType type) {
  return type == kTfLiteFloat32 || type == kTfLiteInt32 ? 4 : 1;
}

// A tensor holding a malloc'd copy of `bytes` in a block of exactly that size
// (so ASan sees a read past the end); the Node frees it.
inline TfLiteTensor InputTensor(TfLiteType type, const std::vector<int>& dims,
                                const std::string& bytes) {
  TfLiteTensor t;
  std::memset(&t, 0, sizeof(t));
  t.type = type;
  t.dims = NewDims(dims);
  t.bytes = bytes.size();
  t.data.raw = static_cast<char*>(std::malloc(bytes.empty() ? 1 : bytes.size()));
  if (!bytes.empty()) std::memcpy(t.data.raw, bytes.data(), bytes.size());
  t.allocation_type = kTfLiteDynamic;
  return t;
}

// An output with no shape yet: the kernel's Prepare or Invoke sizes it.
inline TfLiteTensor OutputTensor(TfLiteType type) {
  TfLiteTensor t;
  std::memset(&t, 0, sizeof(t));
  t.type = type;
  t.allocation_type = kTfLiteArenaRw;  // Prepare decides (dynamic or not)
  return t;
}

// One node: tensors [0, num_inputs) are its inputs, the rest its outputs.
// Owns the tensors' dims and data. Not copyable: the context points into it.
class Node {
 public:
  Node(std::vector<TfLiteTensor> tensors, int num_inputs) : tensors_(std::move(tensors)) {
    std::memset(&context_, 0, sizeof(context_));
    context_.tensors = tensors_.data();
    context_.tensors_size = tensors_.size();
    context_.impl_ = this;
    context_.ResizeTensor = ResizeTensor;
    context_.ReportError = ReportError;
    std::vector<int> inputs, outputs;
    for (int i = 0; i < static_cast<int>(tensors_.size()); ++i) {
      (i < num_inputs ? inputs : outputs).push_back(i);
    }
    std::memset(&node_, 0, sizeof(node_));
    node_.inputs = NewDims(inputs);
    node_.outputs = NewDims(outputs);
  }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node() {
    std::free(node_.inputs);
    std::free(node_.outputs);
    for (TfLiteTensor& t : tensors_) {
      std::free(t.dims);
      std::free(t.data.raw);
    }
  }

  // The interpreter's calls, in its order; `options` are the custom options.
  void Init(const TfLiteRegistration& r, const std::string& options) {
    options_ = options;
    node_.custom_initial_data = options_.data();
    node_.custom_initial_data_size = static_cast<int>(options_.size());
    node_.user_data = r.init(&context_, options_.empty() ? nullptr : options_.data(),
                             options_.size());
  }
  TfLiteStatus Prepare(const TfLiteRegistration& r) { return r.prepare(&context_, &node_); }
  TfLiteStatus Invoke(const TfLiteRegistration& r) { return r.invoke(&context_, &node_); }
  void Free(const TfLiteRegistration& r) { r.free(&context_, node_.user_data); }

  TfLiteTensor& tensor(int i) { return tensors_[i]; }
  int num_tensors() const { return static_cast<int>(tensors_.size()); }

  // What the kernel reported through context->ReportError since ClearErrors().
  int num_errors() const { return num_errors_; }
  const std::string& last_error() const { return last_error_; }
  void ClearErrors() {
    num_errors_ = 0;
    last_error_.clear();
  }
  // A ResizeTensor call the interpreter would reject (a null or negative
  // shape), or "" if none: a kernel bug, not an input error.
  const std::string& misuse() const { return misuse_; }

 private:
  static Node* Of(TfLiteContext* context) { return static_cast<Node*>(context->impl_); }

  // As the interpreter does for dynamic tensors: takes ownership of new_size
  // and (re)allocates the data, poisoned so that cells the kernel does not
  // write show.
  static TfLiteStatus ResizeTensor(TfLiteContext* context, TfLiteTensor* tensor,
                                   TfLiteIntArray* new_size) {
    Node* self = Of(context);
    if (new_size == nullptr) {
      self->misuse_ = "ResizeTensor(nullptr)";
      return kTfLiteError;
    }
    size_t elements = 1;
    for (int i = 0; i < new_size->size; ++i) {
      if (new_size->data[i] < 0) {
        self->misuse_ = "negative output dim " + std::to_string(new_size->data[i]);
        std::free(new_size);
        return kTfLiteError;
      }
      elements *= static_cast<size_t>(new_size->data[i]);
    }
    std::free(tensor->dims);
    std::free(tensor->data.raw);
    tensor->dims = new_size;
    tensor->bytes = elements * ElementSize(tensor->type);
    tensor->data.raw = static_cast<char*>(std::malloc(tensor->bytes == 0 ? 1 : tensor->bytes));
    if (tensor->data.raw == nullptr) return kTfLiteError;
    std::memset(tensor->data.raw, 0xFF, tensor->bytes);
    return kTfLiteOk;
  }

  static void ReportError(TfLiteContext* context, const char* format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    Node* self = Of(context);
    ++self->num_errors_;
    self->last_error_ = message;
  }

  std::vector<TfLiteTensor> tensors_;
  std::string options_;
  TfLiteContext context_;
  TfLiteNode node_;
  int num_errors_ = 0;
  std::string last_error_;
  std::string misuse_;
};

}  // namespace fake_tflite
}  // namespace pqrnn

#endif  // PQRNN_TFLITE_FAKE_INTERPRETER_H_
