/* A C ABI over the framework-free projection core (custom_ops/README.md), for
 * runtimes that compute the projection outside the model (portable models)
 * and for bindings such as ctypes. Links no TensorFlow or TFLite code.
 *
 * Use:
 *   PqrnnProjectionConfig* config = PqrnnProjectionConfigCreate();  // defaults
 *   PqrnnProjectionConfigSetInt(config, "feature_size", 64, error, sizeof error);
 *   PqrnnProjector* projector = PqrnnProjectorCreate(config, error, sizeof error);
 *   PqrnnProjectionConfigDestroy(config);
 *   PqrnnTokenizedBatch* tokens = PqrnnTokenizedBatchCreate();
 *   // Texts concatenated in `data`; text b is data[offsets[b], offsets[b + 1]).
 *   int32_t max_len = PqrnnProjectorTokenize(projector, data, offsets, batch,
 *                                            0, tokens, lengths);
 *   // features: batch * max_len * feature_size floats (caller-owned).
 *   PqrnnProjectorProject(projector, tokens, features);
 *   PqrnnTokenizedBatchDestroy(tokens);
 *   PqrnnProjectorDestroy(projector);
 *
 * Threads: a projector may be shared by threads; a tokenized batch may not
 * (use one per thread). Functions that can fail return 0 on success and -1 on
 * error, with a one-line NUL-terminated message in `error` (truncated to
 * error_capacity bytes; `error` may be NULL when error_capacity is 0).
 */
#ifndef PQRNN_C_PROJECTION_C_API_H_
#define PQRNN_C_PROJECTION_C_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PQRNN_C_API __attribute__((visibility("default")))

typedef struct PqrnnProjectionConfig PqrnnProjectionConfig;
typedef struct PqrnnProjector PqrnnProjector;
typedef struct PqrnnTokenizedBatch PqrnnTokenizedBatch;

/* The op's name, "PqrnnSequenceStringProjection". */
PQRNN_C_API const char* PqrnnProjectionOpName(void);

/* The attribute table of custom_ops/README.md as a JSON array of
 * [name, type, default] with type one of "int32", "int64", "bool", "float",
 * "string"; e.g. [["feature_size", "int32", 512], ...]. Static storage. */
PQRNN_C_API const char* PqrnnProjectionAttributes(void);

/* A configuration holding every attribute's default. */
PQRNN_C_API PqrnnProjectionConfig* PqrnnProjectionConfigCreate(void);
PQRNN_C_API void PqrnnProjectionConfigDestroy(PqrnnProjectionConfig* config);

/* Set one attribute by name. Fails if the name is unknown, the attribute has
 * another type, or (int32 attributes) the value does not fit in 32 bits.
 * Value ranges are checked by PqrnnProjectorCreate. */
PQRNN_C_API int PqrnnProjectionConfigSetInt(PqrnnProjectionConfig* config,
                                            const char* name, int64_t value,
                                            char* error, size_t error_capacity);
PQRNN_C_API int PqrnnProjectionConfigSetBool(PqrnnProjectionConfig* config,
                                             const char* name, int value,
                                             char* error, size_t error_capacity);
PQRNN_C_API int PqrnnProjectionConfigSetFloat(PqrnnProjectionConfig* config,
                                              const char* name, double value,
                                              char* error, size_t error_capacity);
/* `size` bytes at `data` (may contain NUL). */
PQRNN_C_API int PqrnnProjectionConfigSetString(PqrnnProjectionConfig* config,
                                               const char* name, const char* data,
                                               size_t size, char* error,
                                               size_t error_capacity);

/* Validates the configuration (ProjectionConfig::Validate; the message names
 * the invalid attribute) and returns a projector, or NULL with the message in
 * `error`. The projector keeps a copy: the config may be destroyed. */
PQRNN_C_API PqrnnProjector* PqrnnProjectorCreate(const PqrnnProjectionConfig* config,
                                                 char* error, size_t error_capacity);
PQRNN_C_API void PqrnnProjectorDestroy(PqrnnProjector* projector);
PQRNN_C_API int32_t PqrnnProjectorFeatureSize(const PqrnnProjector* projector);

/* Reusable storage for one batch between PqrnnProjectorTokenize and
 * PqrnnProjectorProject / PqrnnTokenizedBatchSpans. */
PQRNN_C_API PqrnnTokenizedBatch* PqrnnTokenizedBatchCreate(void);
PQRNN_C_API void PqrnnTokenizedBatchDestroy(PqrnnTokenizedBatch* tokens);

/* Steps 1-4 of the spec for `batch` texts: text b is the bytes
 * data[offsets[b], offsets[b + 1]) (any bytes; offsets has batch + 1
 * non-decreasing entries). Writes each sentence's row count
 * (`sequence_length`) to lengths[b] and returns max_len, the largest of them
 * but at least 1. With record_spans != 0, also keeps each text token's byte
 * span for PqrnnTokenizedBatchSpans. Each call counts as one execution of the
 * op for distortion (section 4). */
PQRNN_C_API int32_t PqrnnProjectorTokenize(PqrnnProjector* projector,
                                           const char* data, const int64_t* offsets,
                                           int64_t batch, int record_spans,
                                           PqrnnTokenizedBatch* tokens,
                                           int32_t* lengths);

/* Steps 5-7 for the batch last tokenized into `tokens`: writes all
 * batch * max_len * feature_size floats of `features` (row-major
 * [batch, max_len, feature_size]; rows past each length are zero). */
PQRNN_C_API void PqrnnProjectorProject(const PqrnnProjector* projector,
                                       const PqrnnTokenizedBatch* tokens,
                                       float* features);

/* The number of text tokens (rows without BOS/EOS) in the batch. */
PQRNN_C_API int64_t PqrnnTokenizedBatchNumTokens(const PqrnnTokenizedBatch* tokens);

/* Writes the [start, end) byte offsets, within its own text, of every text
 * token of the batch (sentence by sentence, in row order) to spans:
 * 2 * PqrnnTokenizedBatchNumTokens values. A token's span covers every input
 * code point it was made of (including repeats max_repeated_chars dropped).
 * Fails if the batch was tokenized without record_spans. */
PQRNN_C_API int PqrnnTokenizedBatchSpans(const PqrnnTokenizedBatch* tokens,
                                         int64_t* spans, char* error,
                                         size_t error_capacity);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* PQRNN_C_PROJECTION_C_API_H_ */
