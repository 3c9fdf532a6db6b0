// TensorFlow adapter for fo-pooling (core/fo_pooling.h).
#include <string>

#include "core/fo_pooling.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace pqrnn {
namespace {

using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

absl::Status FoPoolingShape(InferenceContext* c) {
  ShapeHandle u, f, lengths, merged;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &u));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 3, &f));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(2), 1, &lengths));
  TF_RETURN_IF_ERROR(c->Merge(u, f, &merged));
  auto batch = c->Dim(merged, 0);
  TF_RETURN_IF_ERROR(c->Merge(batch, c->Dim(lengths, 0), &batch));
  c->set_output(0, merged);
  return absl::OkStatus();
}

class FoPoolingOp : public OpKernel {
 public:
  explicit FoPoolingOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("reverse", &reverse_));
  }

  void Compute(OpKernelContext* context) override {
    const Tensor& u = context->input(0);
    const Tensor& f = context->input(1);
    const Tensor& lengths = context->input(2);
    OP_REQUIRES(context, u.dims() == 3 && u.shape() == f.shape(),
                absl::InvalidArgumentError(
                    std::string(PQRNN_FO_POOLING_OP_NAME) +
                    ": u and f must have the same shape [batch, time, units], got " +
                    u.shape().DebugString() + " and " + f.shape().DebugString()));
    const int64_t batch = u.dim_size(0), time = u.dim_size(1), units = u.dim_size(2);
    OP_REQUIRES(context, lengths.dims() == 1 && lengths.dim_size(0) == batch,
                absl::InvalidArgumentError(
                    std::string(PQRNN_FO_POOLING_OP_NAME) +
                    ": sequence_length must be [batch], got " +
                    lengths.shape().DebugString()));
    const int32_t* len = lengths.flat<int32_t>().data();
    Status status = ValidateFoPoolingLengths(len, batch, time);
    OP_REQUIRES(context, status.ok(), absl::InvalidArgumentError(status.message()));
    Tensor* c = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, u.shape(), &c));
    FoPool(u.flat<float>().data(), f.flat<float>().data(), len, batch, time, units,
           reverse_, c->flat<float>().data());
  }

 private:
  bool reverse_ = false;
};

absl::Status QrnnPoolingShape(InferenceContext* c) {
  ShapeHandle taps, lengths;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &taps));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 1, &lengths));
  int kernel_width;
  bool bidirectional;
  TF_RETURN_IF_ERROR(c->GetAttr("kernel_width", &kernel_width));
  TF_RETURN_IF_ERROR(c->GetAttr("bidirectional", &bidirectional));
  auto batch = c->Dim(taps, 0);
  TF_RETURN_IF_ERROR(c->Merge(batch, c->Dim(lengths, 0), &batch));
  const int64_t directions = bidirectional ? 2 : 1;
  auto units = c->UnknownDim();
  if (c->ValueKnown(c->Dim(taps, 2))) {
    const int64_t width = c->Value(c->Dim(taps, 2));
    if (kernel_width <= 0 || width % (directions * kernel_width * 3) != 0) {
      return absl::InvalidArgumentError(
          std::string(PQRNN_QRNN_POOLING_OP_NAME) +
          ": the last dimension of taps must be directions * kernel_width * 3 * units");
    }
    units = c->MakeDim(width / (kernel_width * 3));
  }
  c->set_output(0, c->MakeShape({batch, c->Dim(taps, 1), units}));
  return absl::OkStatus();
}

class QrnnPoolingOp : public OpKernel {
 public:
  explicit QrnnPoolingOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("kernel_width", &kernel_width_));
    OP_REQUIRES_OK(context, context->GetAttr("bidirectional", &bidirectional_));
    OP_REQUIRES(context, kernel_width_ > 0,
                absl::InvalidArgumentError(std::string(PQRNN_QRNN_POOLING_OP_NAME) +
                                           ": kernel_width must be positive"));
  }

  void Compute(OpKernelContext* context) override {
    const Tensor& taps = context->input(0);
    const Tensor& lengths = context->input(1);
    const int64_t directions = bidirectional_ ? 2 : 1;
    const int64_t per_unit = directions * kernel_width_ * 3;
    OP_REQUIRES(context, taps.dims() == 3 && taps.dim_size(2) % per_unit == 0,
                absl::InvalidArgumentError(
                    std::string(PQRNN_QRNN_POOLING_OP_NAME) +
                    ": taps must be [batch, time, directions * kernel_width * 3 * units], got " +
                    taps.shape().DebugString()));
    const int64_t batch = taps.dim_size(0), time = taps.dim_size(1);
    const int64_t units = taps.dim_size(2) / per_unit;
    OP_REQUIRES(context, lengths.dims() == 1 && lengths.dim_size(0) == batch,
                absl::InvalidArgumentError(
                    std::string(PQRNN_QRNN_POOLING_OP_NAME) +
                    ": sequence_length must be [batch], got " + lengths.shape().DebugString()));
    const int32_t* len = lengths.flat<int32_t>().data();
    Status status = ValidateFoPoolingLengths(len, batch, time);
    OP_REQUIRES(context, status.ok(), absl::InvalidArgumentError(status.message()));
    Tensor* h = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(
                                0, tensorflow::TensorShape({batch, time, directions * units}),
                                &h));
    QrnnPool(taps.flat<float>().data(), len, batch, time, units, kernel_width_, directions,
             h->flat<float>().data());
  }

 private:
  int kernel_width_ = 2;
  bool bidirectional_ = true;
};

}  // namespace

REGISTER_OP(PQRNN_QRNN_POOLING_OP_NAME)
    .Input("taps: float32")
    .Input("sequence_length: int32")
    .Output("h: float32")
    .Attr("kernel_width: int = 2")
    .Attr("bidirectional: bool = true")
    .SetShapeFn(QrnnPoolingShape)
    .Doc("A QRNN layer after its matrix product; see core/fo_pooling.h (QrnnPool).");

REGISTER_KERNEL_BUILDER(
    Name(PQRNN_QRNN_POOLING_OP_NAME).Device(tensorflow::DEVICE_CPU), QrnnPoolingOp);

REGISTER_OP(PQRNN_FO_POOLING_OP_NAME)
    .Input("u: float32")
    .Input("f: float32")
    .Input("sequence_length: int32")
    .Output("c: float32")
    .Attr("reverse: bool = false")
    .SetShapeFn(FoPoolingShape)
    .Doc("QRNN fo-pooling over the valid steps; see core/fo_pooling.h.");

REGISTER_KERNEL_BUILDER(
    Name(PQRNN_FO_POOLING_OP_NAME).Device(tensorflow::DEVICE_CPU), FoPoolingOp);

}  // namespace pqrnn
