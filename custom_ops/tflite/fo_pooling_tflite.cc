// TFLite adapter for fo-pooling (core/fo_pooling.h).
#include <cstring>
#include <string>

#include "core/flexbuffers_reader.h"
#include "core/fo_pooling.h"
#include "tflite/kernel_util.h"
#include "tflite/register.h"
#include "tflite/tflite_abi.h"

namespace pqrnn {
namespace {

struct OpData {
  bool reverse = false;
  Status init_status;
};

Status Invalid(const std::string& what) {
  return Status::InvalidArgument(std::string(PQRNN_FO_POOLING_OP_NAME) + ": " + what);
}

void* Init(TfLiteContext*, const char* buffer, size_t length) {
  auto* data = new OpData;
  if (length > 0) {
    FlexMapReader options(buffer, length);
    data->init_status = options.ok() ? ReadOption(options, "reverse", &data->reverse)
                                     : Invalid("custom options are not a FlexBuffer map");
  }
  return data;
}

void Free(TfLiteContext*, void* buffer) { delete static_cast<OpData*>(buffer); }

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<OpData*>(node->user_data);
  if (!data->init_status.ok()) return Report(context, data->init_status);
  if (node->inputs->size != 3 || node->outputs->size != 1) {
    return Report(context, Invalid("expects 3 inputs (u, f, sequence_length) and 1 output"));
  }
  const TfLiteTensor& u = context->tensors[node->inputs->data[0]];
  const TfLiteTensor& f = context->tensors[node->inputs->data[1]];
  const TfLiteTensor& lengths = context->tensors[node->inputs->data[2]];
  TfLiteTensor& c = context->tensors[node->outputs->data[0]];
  if (u.type != kTfLiteFloat32 || f.type != kTfLiteFloat32 ||
      lengths.type != kTfLiteInt32 || c.type != kTfLiteFloat32) {
    return Report(context, Invalid("expects float32 u, f, output and int32 sequence_length"));
  }
  if (u.dims == nullptr || f.dims == nullptr || lengths.dims == nullptr ||
      u.dims->size != 3 || f.dims->size != 3 || lengths.dims->size != 1) {
    return Report(context, Invalid("u and f must be [batch, time, units], sequence_length [batch]"));
  }
  for (int i = 0; i < 3; ++i) {
    if (u.dims->data[i] != f.dims->data[i]) {
      return Report(context, Invalid("u and f must have the same shape"));
    }
  }
  if (lengths.dims->data[0] != u.dims->data[0]) {
    return Report(context, Invalid("sequence_length must have one entry per batch row"));
  }
  return context->ResizeTensor(
      context, &c, NewDims({u.dims->data[0], u.dims->data[1], u.dims->data[2]}));
}

TfLiteStatus Invoke(TfLiteContext* context, TfLiteNode* node) {
  auto* data = static_cast<OpData*>(node->user_data);
  const TfLiteTensor& u = context->tensors[node->inputs->data[0]];
  const TfLiteTensor& f = context->tensors[node->inputs->data[1]];
  const TfLiteTensor& lengths = context->tensors[node->inputs->data[2]];
  TfLiteTensor& c = context->tensors[node->outputs->data[0]];
  const int batch = u.dims->data[0], time = u.dims->data[1], units = u.dims->data[2];
  Status status = ValidateFoPoolingLengths(lengths.data.i32, batch, time);
  if (!status.ok()) return Report(context, status);
  FoPool(u.data.f, f.data.f, lengths.data.i32, batch, time, units, data->reverse, c.data.f);
  return kTfLiteOk;
}

}  // namespace

__attribute__((visibility("default"))) TfLiteRegistration* RegisterFoPooling() {
  static TfLiteRegistration registration =
      MakeCustomRegistration(PQRNN_FO_POOLING_OP_NAME, Init, Free, Prepare, Invoke);
  return &registration;
}

}  // namespace pqrnn
