#include "binding/message_runs.hpp"

#include <cstring>

#include "protocol/utf8.hpp"

namespace rws::binding {

void message_run::add(const session_event& e) {
  if (payloads_.empty()) binary_ = e.binary;
  payloads_.push_back(&e.data);
  bytes_ += e.data.size();
}

void message_run::take(napi_env env, napi_value& value, napi_value& lengths) {
  void* length_memory;
  napi_value length_buffer;
  napi_create_arraybuffer(env, payloads_.size() * sizeof(std::uint32_t), &length_memory, &length_buffer);
  napi_create_typedarray(env, napi_uint32_array, payloads_.size(), length_buffer, 0, &lengths);
  auto* out = static_cast<std::uint32_t*>(length_memory);

  if (binary_) {
    void* memory;
    napi_create_buffer(env, bytes_, &memory, &value);
    auto* at = static_cast<char*>(memory);
    for (const std::string* p : payloads_) {
      if (!p->empty()) std::memcpy(at, p->data(), p->size());
      at += p->size();
      *out++ = static_cast<std::uint32_t>(p->size());
    }
  } else {
    text_.clear();
    text_.reserve(bytes_);
    bool all_ascii = true;
    for (const std::string* p : payloads_) {
      bool ascii;
      *out++ = utf16_length(*p, ascii);
      all_ascii = all_ascii && ascii;
      text_.append(*p);
    }
    // Latin-1 is taken byte for byte into a one-byte string: no UTF-8 decoding for ASCII.
    if (all_ascii) {
      napi_create_string_latin1(env, text_.data(), text_.size(), &value);
    } else {
      napi_create_string_utf8(env, text_.data(), text_.size(), &value);
    }
  }
  payloads_.clear();
  bytes_ = 0;
}

}  // namespace rws::binding
