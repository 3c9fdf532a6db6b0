// TFLite adapter for the projection core: reads the attributes from the
// converter's FlexBuffer custom options, parses the string tensor, and runs
// the same kernel template as the TF op.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/flexbuffers_reader.h"
#include "core/projection_config.h"
#include "core/projection_kernel.h"
#include "core/sequence_projector.h"
#include "tflite/kernel_util.h"
#include "tflite/register.h"
#include "tflite/sequence_projection_tflite.h"
#include "tflite/tflite_abi.h"

namespace pqrnn {
namespace {

using OpData = ProjectionOpData;

Status ReadConfig(const char* buffer, size_t length, ProjectionConfig* config) {
  if (length == 0) return config->Validate();  // no options: all defaults
  FlexMapReader options(buffer, length);
  if (!options.ok()) {
    return Status::InvalidArgument(std::string(PQRNN_PROJECTION_OP_NAME) +
                                   ": custom options are not a FlexBuffer map");
  }
#define PQRNN_READ_OPTION(type, name, default_value)                  \
  {                                                                   \
    Status s = ReadOption(options, #name, &config->name);             \
    if (!s.ok()) return s;                                            \
  }
  PQRNN_PROJECTION_ATTRS(PQRNN_READ_OPTION)
#undef PQRNN_READ_OPTION
  return config->Validate();
}

void* Init(TfLiteContext*, const char* buffer, size_t length) {
  auto* data = new OpData;
  ProjectionConfig config;
  data->init_status = ReadConfig(buffer, length, &config);
  if (data->init_status.ok()) {
    data->init_status = SequenceProjector::Create(config, &data->projector);
  }
  return data;
}

void Free(TfLiteContext*, void* buffer) { delete static_cast<OpData*>(buffer); }

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<OpData*>(node->user_data);
  if (!data->init_status.ok()) return Report(context, data->init_status);
  if (node->inputs->size != 1 || node->outputs->size != 2) {
    return Report(context, Status::InvalidArgument(
                               std::string(PQRNN_PROJECTION_OP_NAME) +
                               ": expects 1 input and 2 outputs"));
  }
  const TfLiteTensor& input = context->tensors[node->inputs->data[0]];
  TfLiteTensor& features = context->tensors[node->outputs->data[0]];
  TfLiteTensor& lengths = context->tensors[node->outputs->data[1]];
  if (input.type != kTfLiteString || features.type != kTfLiteFloat32 ||
      lengths.type != kTfLiteInt32) {
    return Report(context, Status::InvalidArgument(
                               std::string(PQRNN_PROJECTION_OP_NAME) +
                               ": expects string input, float32 and int32 outputs"));
  }
  // Output shapes depend on the text, so they are sized in Invoke.
  SetTensorToDynamic(&features);
  SetTensorToDynamic(&lengths);
  return kTfLiteOk;
}

class TfLiteIo {
 public:
  TfLiteIo(TfLiteContext* context, TfLiteNode* node)
      : context_(context), node_(node) {}

  // Parses the string tensor: int32 count N, N + 1 int32 offsets, bytes.
  Status Parse() {
    const TfLiteTensor& input = context_->tensors[node_->inputs->data[0]];
    if (input.dims == nullptr || input.dims->size != 1) {
      return Status::InvalidArgument(std::string(PQRNN_PROJECTION_OP_NAME) +
                                     ": input must be a vector [batch] of strings");
    }
    const int64_t expected = input.dims->data[0];
    const char* raw = input.data.raw_const;
    const size_t bytes = input.bytes;
    int32_t count = 0;
    if (raw == nullptr || bytes < 4) {
      if (expected == 0) return Status::Ok();
      return Malformed();
    }
    std::memcpy(&count, raw, 4);
    if (count < 0 || count != expected ||
        4 + 4 * (static_cast<uint64_t>(count) + 1) > bytes) {
      return Malformed();
    }
    offsets_.resize(count + 1);
    std::memcpy(offsets_.data(), raw + 4, (count + 1) * sizeof(int32_t));
    for (int i = 0; i <= count; ++i) {
      if (offsets_[i] < 0 || static_cast<size_t>(offsets_[i]) > bytes ||
          (i > 0 && offsets_[i] < offsets_[i - 1])) {
        return Malformed();
      }
    }
    raw_ = raw;
    return Status::Ok();
  }

  int64_t BatchSize() const {
    return offsets_.empty() ? 0 : static_cast<int64_t>(offsets_.size()) - 1;
  }
  std::string_view Text(int64_t i) const {
    return std::string_view(raw_ + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }

  Status AllocateOutputs(int64_t batch, int max_len, int feature_size,
                         float** features, int32_t** lengths) {
    TfLiteTensor* f = &context_->tensors[node_->outputs->data[0]];
    TfLiteTensor* l = &context_->tensors[node_->outputs->data[1]];
    const int b = static_cast<int>(batch);
    if (context_->ResizeTensor(context_, f, NewDims({b, max_len, feature_size})) !=
            kTfLiteOk ||
        context_->ResizeTensor(context_, l, NewDims({b})) != kTfLiteOk) {
      return Status::InvalidArgument(std::string(PQRNN_PROJECTION_OP_NAME) +
                                     ": could not allocate the outputs");
    }
    *features = f->data.f;
    *lengths = l->data.i32;
    return Status::Ok();
  }

 private:
  static Status Malformed() {
    return Status::InvalidArgument(std::string(PQRNN_PROJECTION_OP_NAME) +
                                   ": malformed string tensor");
  }

  TfLiteContext* context_;
  TfLiteNode* node_;
  const char* raw_ = nullptr;
  std::vector<int32_t> offsets_;
};

TfLiteStatus Invoke(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<OpData*>(node->user_data);
  TfLiteIo io(context, node);
  Status status = io.Parse();
  if (status.ok()) {
    status = RunSequenceProjection(*data->projector, data->calls++, io);
  }
  return status.ok() ? kTfLiteOk : Report(context, status);
}

}  // namespace

__attribute__((visibility("default"))) TfLiteRegistration*
RegisterSequenceStringProjection() {
  static TfLiteRegistration registration =
      MakeCustomRegistration(PQRNN_PROJECTION_OP_NAME, Init, Free, Prepare, Invoke);
  return &registration;
}

}  // namespace pqrnn
