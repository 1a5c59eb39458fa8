#pragma once
// How every layer reports a failure upward: a stable code from the one table (error_codes.hpp),
// a message that says what happened and what to do, and the facts behind it.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error_codes.hpp"

namespace rws {

// A failure as the application sees it: a stable code, a message that says what happened and
// what to do, and the facts behind it.
struct failure {
  failure_code code = failure_code::none;
  std::string message;
  int status = 0;                 // HTTP status of a refused handshake
  std::vector<std::pair<std::string, std::string>> headers;  // of that response
  std::string reason;             // OpenSSL reason for ERR_TLS_VERIFY
  std::int64_t retry_after_ms = -1;
  int close_code = 0;             // close code that caused it, when there was one
  explicit operator bool() const { return code != failure_code::none; }
};

inline failure make_failure(failure_code code, std::string message, int status = 0) {
  failure f;
  f.code = code;
  f.message = std::move(message);
  f.status = status;
  return f;
}

}  // namespace rws
