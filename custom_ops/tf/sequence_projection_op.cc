// TensorFlow adapter for the projection core: op registration, shape function
// and CPU kernel. All semantics live in core/.
#include <atomic>
#include <memory>
#include <string>

#include "core/projection_config.h"
#include "core/projection_kernel.h"
#include "core/sequence_projector.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace pqrnn {
namespace {

using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

// "name: type = default" for REGISTER_OP, from the attribute table.
std::string AttrSpec(const char* name, int32_t v) {
  return std::string(name) + ": int = " + std::to_string(v);
}
std::string AttrSpec(const char* name, int64_t v) {
  return std::string(name) + ": int = " + std::to_string(v);
}
std::string AttrSpec(const char* name, bool v) {
  return std::string(name) + ": bool = " + (v ? "true" : "false");
}
std::string AttrSpec(const char* name, float v) {
  return std::string(name) + ": float = " + std::to_string(v);
}
std::string AttrSpec(const char* name, const std::string& v) {
  return std::string(name) + ": string = '" + v + "'";
}

absl::Status ToTf(const Status& status) {
  return status.ok() ? absl::OkStatus()
                     : absl::InvalidArgumentError(status.message());
}

// Works for both InferenceContext and OpKernelConstruction.
template <typename Context>
absl::Status ReadConfig(Context* context, ProjectionConfig* config) {
#define PQRNN_READ_ATTR(type, name, default_value) \
  TF_RETURN_IF_ERROR(context->GetAttr(#name, &config->name));
  PQRNN_PROJECTION_ATTRS(PQRNN_READ_ATTR)
#undef PQRNN_READ_ATTR
  return ToTf(config->Validate());
}

absl::Status ProjectionShape(InferenceContext* c) {
  ProjectionConfig config;
  TF_RETURN_IF_ERROR(ReadConfig(c, &config));
  ShapeHandle input;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 1, &input));
  auto batch = c->Dim(input, 0);
  c->set_output(0, c->MakeShape({batch, c->UnknownDim(),
                                 c->MakeDim(config.feature_size)}));
  c->set_output(1, c->MakeShape({batch}));
  return absl::OkStatus();
}

class TfIo {
 public:
  TfIo(OpKernelContext* context, const Tensor& input)
      : context_(context), input_(input.vec<tensorflow::tstring>()) {}
  int64_t BatchSize() const { return input_.size(); }
  std::string_view Text(int64_t i) const {
    return std::string_view(input_(i).data(), input_(i).size());
  }
  Status AllocateOutputs(int64_t batch, int max_len, int feature_size,
                         float** features, int32_t** lengths) {
    Tensor* f = nullptr;
    Tensor* l = nullptr;
    absl::Status s = context_->allocate_output(
        0, TensorShape({batch, max_len, feature_size}), &f);
    if (s.ok()) s = context_->allocate_output(1, TensorShape({batch}), &l);
    if (!s.ok()) return Status::InvalidArgument(std::string(s.message()));
    *features = f->flat<float>().data();
    *lengths = l->flat<int32_t>().data();
    return Status::Ok();
  }

 private:
  OpKernelContext* context_;
  tensorflow::TTypes<tensorflow::tstring>::ConstVec input_;
};

class SequenceProjectionOp : public OpKernel {
 public:
  explicit SequenceProjectionOp(OpKernelConstruction* context)
      : OpKernel(context) {
    ProjectionConfig config;
    OP_REQUIRES_OK(context, ReadConfig(context, &config));
    OP_REQUIRES_OK(context, ToTf(SequenceProjector::Create(config, &projector_)));
  }

  void Compute(OpKernelContext* context) override {
    const Tensor& input = context->input(0);
    OP_REQUIRES(context, input.dims() == 1,
                absl::InvalidArgumentError(
                    std::string(PQRNN_PROJECTION_OP_NAME) +
                    ": input must be a vector [batch] of strings, got shape " +
                    input.shape().DebugString()));
    TfIo io(context, input);
    OP_REQUIRES_OK(context, ToTf(RunSequenceProjection(
                                *projector_, calls_.fetch_add(1), io)));
  }

 private:
  std::unique_ptr<SequenceProjector> projector_;
  std::atomic<uint64_t> calls_{0};
};

}  // namespace

#define PQRNN_ATTR_SPEC(type, name, default_value) \
  .Attr(AttrSpec(#name, static_cast<type>(default_value)))

REGISTER_OP(PQRNN_PROJECTION_OP_NAME)
    .Input("input: string")
    .Output("features: float32")
    .Output("sequence_length: int32")
    PQRNN_PROJECTION_ATTRS(PQRNN_ATTR_SPEC)
    .SetShapeFn(ProjectionShape)
    .Doc("pQRNN ternary hashing projection; see custom_ops/README.md.");

#undef PQRNN_ATTR_SPEC

REGISTER_KERNEL_BUILDER(
    Name(PQRNN_PROJECTION_OP_NAME).Device(tensorflow::DEVICE_CPU),
    SequenceProjectionOp);

}  // namespace pqrnn
