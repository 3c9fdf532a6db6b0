// The few TFLite C types the custom op uses, declared to match TFLite's C ABI
// (tensorflow/lite/core/c/common.h, "semi-ABI stable": fields are only ever
// appended). No pip wheel ships TFLite's headers, so the Python build uses
// these; an Android/C++ build defines PQRNN_USE_TFLITE_HEADERS and gets the
// real ones. tests/test_tflite_registration.py runs the kernels in both Python
// runtimes (LiteRT and tf.lite), and tests/test_aarch64_golden.py drives them
// with structs built from these declarations.
#ifndef PQRNN_TFLITE_TFLITE_ABI_H_
#define PQRNN_TFLITE_TFLITE_ABI_H_

#ifdef PQRNN_USE_TFLITE_HEADERS
#include "tensorflow/lite/c/common.h"
#else

#include <stddef.h>
#include <stdint.h>

extern "C" {

typedef enum TfLiteStatus { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;

typedef enum {
  kTfLiteNoType = 0,
  kTfLiteFloat32 = 1,
  kTfLiteInt32 = 2,
  kTfLiteString = 5,
} TfLiteType;

typedef enum TfLiteAllocationType {
  kTfLiteMemNone = 0,
  kTfLiteMmapRo,
  kTfLiteArenaRw,
  kTfLiteArenaRwPersistent,
  kTfLiteDynamic,
} TfLiteAllocationType;

typedef struct TfLiteIntArray {
  int size;
  int data[];
} TfLiteIntArray;

typedef struct TfLiteQuantizationParams {
  float scale;
  int32_t zero_point;
} TfLiteQuantizationParams;

typedef struct TfLiteQuantization {
  int type;
  void* params;
} TfLiteQuantization;

typedef union TfLitePtrUnion {
  int32_t* i32;
  float* f;
  char* raw;
  const char* raw_const;
  void* data;
} TfLitePtrUnion;

// Full layout: context->tensors is an array of these.
typedef struct TfLiteTensor {
  TfLiteType type;
  TfLitePtrUnion data;
  TfLiteIntArray* dims;
  TfLiteQuantizationParams params;
  TfLiteAllocationType allocation_type;
  size_t bytes;
  const void* allocation;
  const char* name;
  void* delegate;
  int buffer_handle;
  bool data_is_stale;
  bool is_variable;
  TfLiteQuantization quantization;
  void* sparsity;
  const TfLiteIntArray* dims_signature;
} TfLiteTensor;

// Leading fields only: the runtime owns nodes.
typedef struct TfLiteNode {
  TfLiteIntArray* inputs;
  TfLiteIntArray* outputs;
  TfLiteIntArray* intermediates;
  TfLiteIntArray* temporaries;
  void* user_data;
  const void* builtin_data;
  const void* custom_initial_data;
  int custom_initial_data_size;
} TfLiteNode;

// Leading fields only: the runtime owns the context.
typedef struct TfLiteContext {
  size_t tensors_size;
  TfLiteStatus (*GetExecutionPlan)(struct TfLiteContext*, TfLiteIntArray**);
  TfLiteTensor* tensors;
  void* impl_;
  TfLiteStatus (*ResizeTensor)(struct TfLiteContext*, TfLiteTensor* tensor,
                               TfLiteIntArray* new_size);
  void (*ReportError)(struct TfLiteContext*, const char* format, ...);
} TfLiteContext;

// The runtime copies registrations by value, so every field it may read must
// exist here; `reserved` keeps fields appended by newer runtimes zeroed.
typedef struct TfLiteRegistration {
  void* (*init)(TfLiteContext* context, const char* buffer, size_t length);
  void (*free)(TfLiteContext* context, void* buffer);
  TfLiteStatus (*prepare)(TfLiteContext* context, TfLiteNode* node);
  TfLiteStatus (*invoke)(TfLiteContext* context, TfLiteNode* node);
  const char* (*profiling_string)(const TfLiteContext* context,
                                  const TfLiteNode* node);
  int32_t builtin_code;
  const char* custom_name;
  int version;
  void* registration_external;
  void* async_kernel;
  uint64_t inplace_operator;
  void* reserved[8];
} TfLiteRegistration;

}  // extern "C"

#endif  // PQRNN_USE_TFLITE_HEADERS
#endif  // PQRNN_TFLITE_TFLITE_ABI_H_
