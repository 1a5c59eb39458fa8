#include "binding/message_runs.hpp"

#include <cstring>

#include "protocol/utf8.hpp"

namespace rws::binding {

void message_runs::add(const session_event& e) {
  if (payloads_.empty()) binary_ = e.binary;
  payloads_.push_back(&e.data);
  bytes_ += e.data.size();
}

std::uint32_t message_runs::take(napi_env env, napi_value& value) {
  if (payloads_.size() == 1) {
    const std::string& only = *payloads_.front();
    if (binary_) {
      void* copy;
      if (napi_create_buffer_copy(env, only.size(), only.data(), &copy, &value) != napi_ok) {
        failed_ = true;
        napi_get_undefined(env, &value);
      }
    } else {
      bool ascii;
      utf16_length(only, ascii);
      if (ascii) {
        napi_create_string_latin1(env, only.data(), only.size(), &value);
      } else {
        napi_create_string_utf8(env, only.data(), only.size(), &value);
      }
    }
    payloads_.clear();
    bytes_ = 0;
    return 1;
  }
  if (binary_) {
    void* memory = nullptr;
    // Checked: a refused Buffer leaves `memory` unset, and copying into it would crash.
    if (napi_create_buffer(env, bytes_, &memory, &value) != napi_ok) {
      failed_ = true;
      napi_get_undefined(env, &value);
    }
    auto* at = static_cast<char*>(memory);
    for (const std::string* p : payloads_) {
      if (at && !p->empty()) std::memcpy(at, p->data(), p->size());
      if (at) at += p->size();
      lengths_.push_back(static_cast<std::uint32_t>(p->size()));
    }
  } else {
    text_.clear();
    text_.reserve(bytes_);
    bool all_ascii = true;
    for (const std::string* p : payloads_) {
      bool ascii;
      lengths_.push_back(utf16_length(*p, ascii));
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
  const auto count = static_cast<std::uint32_t>(payloads_.size());
  payloads_.clear();
  bytes_ = 0;
  return count;
}

napi_value message_runs::lengths(napi_env env) {
  napi_value array;
  napi_get_undefined(env, &array);
  if (lengths_.empty()) return array;
  void* memory = nullptr;
  napi_value buffer;
  if (napi_create_arraybuffer(env, lengths_.size() * sizeof(std::uint32_t), &memory, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, lengths_.size(), buffer, 0, &array) != napi_ok) {
    failed_ = true;
    return array;
  }
  std::memcpy(memory, lengths_.data(), lengths_.size() * sizeof(std::uint32_t));
  return array;
}

}  // namespace rws::binding
