// UTF-8 decoding and the character classes of the projection spec
// (custom_ops/README.md, sections 1-3).
#ifndef PQRNN_CORE_UNICODE_H_
#define PQRNN_CORE_UNICODE_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace pqrnn {

constexpr uint32_t kReplacementChar = 0xFFFD;

// Appends the code points of `text`; each byte that does not start a
// well-formed UTF-8 sequence becomes U+FFFD.
void DecodeUtf8(std::string_view text, std::vector<uint32_t>* out);

// The same, and for each appended code point the byte offset in `text` where
// it starts (its end is the next one's start, or text.size()).
void DecodeUtf8(std::string_view text, std::vector<uint32_t>* out,
                std::vector<size_t>* byte_starts);

// Returns false if `text` is not entirely well-formed UTF-8.
bool IsValidUtf8(std::string_view text);

uint32_t SimpleLowercase(uint32_t c);
bool IsWhitespace(uint32_t c);
// Scripts written without spaces: each code point is a token of its own.
bool IsUnsegmentedScript(uint32_t c);

}  // namespace pqrnn

#endif  // PQRNN_CORE_UNICODE_H_
