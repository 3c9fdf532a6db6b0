#include "c/projection_c_api.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/projection_config.h"
#include "core/projection_kernel.h"
#include "core/sequence_projector.h"

struct PqrnnProjectionConfig {
  pqrnn::ProjectionConfig config;
};

struct PqrnnProjector {
  std::unique_ptr<pqrnn::SequenceProjector> projector;
  // Executions so far: the `call` of the distortion seed (spec section 4).
  std::atomic<uint64_t> calls{0};
};

struct PqrnnTokenizedBatch {
  std::vector<pqrnn::TokenizedSentence> sentences;  // [0, batch) in use
  int64_t batch = 0;
  int max_len = 1;
  bool has_spans = false;
};

namespace {

int Fail(const std::string& message, char* error, size_t capacity) {
  if (error != nullptr && capacity > 0) {
    const size_t n = std::min(message.size(), capacity - 1);
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
  }
  return -1;
}

const char* TypeName(int32_t) { return "int32"; }
const char* TypeName(int64_t) { return "int64"; }
const char* TypeName(bool) { return "bool"; }
const char* TypeName(float) { return "float"; }
const char* TypeName(const std::string&) { return "string"; }

std::string JsonValue(int32_t v) { return std::to_string(v); }
std::string JsonValue(int64_t v) { return std::to_string(v); }
std::string JsonValue(bool v) { return v ? "true" : "false"; }
std::string JsonValue(float v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", static_cast<double>(v));
  return buffer;
}
std::string JsonValue(const std::string& v) {
  // The defaults are plain ASCII; escape what JSON requires anyway.
  std::string out = "\"";
  for (const char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string BuildAttributeTable() {
  const pqrnn::ProjectionConfig defaults;
  std::string out = "[";
#define PQRNN_APPEND_ATTR(type, name, default_value)                        \
  out += std::string(out.size() > 1 ? ", " : "") + "[\"" #name "\", \"" + \
         TypeName(defaults.name) + "\", " + JsonValue(defaults.name) + "]";
  PQRNN_PROJECTION_ATTRS(PQRNN_APPEND_ATTR)
#undef PQRNN_APPEND_ATTR
  return out + "]";
}

// Assigns `value` to `field` when their kinds match; the message says why not.
bool Assign(int32_t* field, int64_t value, std::string* why) {
  if (value < std::numeric_limits<int32_t>::min() ||
      value > std::numeric_limits<int32_t>::max()) {
    *why = "does not fit in 32 bits: " + std::to_string(value);
    return false;
  }
  *field = static_cast<int32_t>(value);
  return true;
}
bool Assign(int64_t* field, int64_t value, std::string*) {
  *field = value;
  return true;
}
bool Assign(bool* field, bool value, std::string*) {
  *field = value;
  return true;
}
bool Assign(float* field, double value, std::string*) {
  *field = static_cast<float>(value);
  return true;
}
bool Assign(std::string* field, std::string_view value, std::string*) {
  *field = std::string(value);
  return true;
}
template <typename Field, typename Value>
bool Assign(Field*, Value, std::string* why) {
  *why = std::string("is of type ") + TypeName(Field());
  return false;
}

template <typename Value>
int SetAttribute(PqrnnProjectionConfig* config, const char* name, Value value,
                 const char* value_type, char* error, size_t capacity) {
  const std::string_view wanted = name == nullptr ? "" : name;
  std::string why;
#define PQRNN_SET_ATTR(type, attr, default_value)                                \
  if (wanted == #attr) {                                                         \
    if (Assign(&config->config.attr, value, &why)) return 0;                     \
    return Fail(std::string("Invalid attribute '" #attr "' of ") +               \
                    PQRNN_PROJECTION_OP_NAME + ": " + why + ", not " +           \
                    value_type,                                                  \
                error, capacity);                                                \
  }
  PQRNN_PROJECTION_ATTRS(PQRNN_SET_ATTR)
#undef PQRNN_SET_ATTR
  return Fail(std::string("Unknown attribute '") + std::string(wanted) + "' of " +
                  PQRNN_PROJECTION_OP_NAME,
              error, capacity);
}

}  // namespace

extern "C" {

const char* PqrnnProjectionOpName(void) { return PQRNN_PROJECTION_OP_NAME; }

const char* PqrnnProjectionAttributes(void) {
  static const std::string* table = new std::string(BuildAttributeTable());
  return table->c_str();
}

PqrnnProjectionConfig* PqrnnProjectionConfigCreate(void) {
  return new PqrnnProjectionConfig();
}

void PqrnnProjectionConfigDestroy(PqrnnProjectionConfig* config) { delete config; }

int PqrnnProjectionConfigSetInt(PqrnnProjectionConfig* config, const char* name,
                                int64_t value, char* error, size_t error_capacity) {
  return SetAttribute(config, name, value, "an integer", error, error_capacity);
}

int PqrnnProjectionConfigSetBool(PqrnnProjectionConfig* config, const char* name,
                                 int value, char* error, size_t error_capacity) {
  return SetAttribute(config, name, value != 0, "a boolean", error, error_capacity);
}

int PqrnnProjectionConfigSetFloat(PqrnnProjectionConfig* config, const char* name,
                                  double value, char* error, size_t error_capacity) {
  return SetAttribute(config, name, value, "a float", error, error_capacity);
}

int PqrnnProjectionConfigSetString(PqrnnProjectionConfig* config, const char* name,
                                   const char* data, size_t size, char* error,
                                   size_t error_capacity) {
  return SetAttribute(config, name, std::string_view(data, data ? size : 0),
                      "a string", error, error_capacity);
}

PqrnnProjector* PqrnnProjectorCreate(const PqrnnProjectionConfig* config,
                                     char* error, size_t error_capacity) {
  auto out = std::make_unique<PqrnnProjector>();
  const pqrnn::Status status =
      pqrnn::SequenceProjector::Create(config->config, &out->projector);
  if (!status.ok()) {
    Fail(status.message(), error, error_capacity);
    return nullptr;
  }
  return out.release();
}

void PqrnnProjectorDestroy(PqrnnProjector* projector) { delete projector; }

int32_t PqrnnProjectorFeatureSize(const PqrnnProjector* projector) {
  return projector->projector->feature_size();
}

PqrnnTokenizedBatch* PqrnnTokenizedBatchCreate(void) {
  return new PqrnnTokenizedBatch();
}

void PqrnnTokenizedBatchDestroy(PqrnnTokenizedBatch* tokens) { delete tokens; }

int32_t PqrnnProjectorTokenize(PqrnnProjector* projector, const char* data,
                               const int64_t* offsets, int64_t batch,
                               int record_spans, PqrnnTokenizedBatch* tokens,
                               int32_t* lengths) {
  const pqrnn::SequenceProjector& core = *projector->projector;
  if (tokens->sentences.size() < static_cast<size_t>(batch)) {
    tokens->sentences.resize(batch);
  }
  tokens->batch = batch;
  tokens->has_spans = record_spans != 0;
  const uint64_t call = projector->calls.fetch_add(1, std::memory_order_relaxed);
  tokens->max_len = pqrnn::TokenizeBatch(
      core, call, batch,
      [data, offsets](int64_t b) {
        return std::string_view(data + offsets[b],
                                static_cast<size_t>(offsets[b + 1] - offsets[b]));
      },
      tokens->sentences.data(), tokens->has_spans);
  for (int64_t b = 0; b < batch; ++b) {
    lengths[b] = core.NumRows(tokens->sentences[b]);
  }
  return tokens->max_len;
}

void PqrnnProjectorProject(const PqrnnProjector* projector,
                           const PqrnnTokenizedBatch* tokens, float* features) {
  pqrnn::ProjectBatch(*projector->projector, tokens->sentences.data(), tokens->batch,
                      tokens->max_len, features, nullptr);
}

int64_t PqrnnTokenizedBatchNumTokens(const PqrnnTokenizedBatch* tokens) {
  int64_t total = 0;
  for (int64_t b = 0; b < tokens->batch; ++b) {
    total += static_cast<int64_t>(tokens->sentences[b].token_ends.size());
  }
  return total;
}

int PqrnnTokenizedBatchSpans(const PqrnnTokenizedBatch* tokens, int64_t* spans,
                             char* error, size_t error_capacity) {
  if (!tokens->has_spans) {
    return Fail("PqrnnTokenizedBatchSpans: the batch was tokenized without "
                "record_spans",
                error, error_capacity);
  }
  for (int64_t b = 0; b < tokens->batch; ++b) {
    const std::vector<int64_t>& own = tokens->sentences[b].byte_spans;
    spans = std::copy(own.begin(), own.end(), spans);
  }
  return 0;
}

}  // extern "C"
