#include "session/failure_policy.hpp"

#include <algorithm>

namespace rws {
namespace {

// Statuses whose Retry-After is honoured: the server says when it can take us again.
bool honours_retry_after(int status) { return status == 429 || status == 503; }

}  // namespace

failure_verdict classify_end(const attempt_end& end, const std::vector<std::uint16_t>& stop_on_close_codes) {
  failure_verdict v;
  v.error = end.error;
  failure& f = v.error;
  if (f.code == failure_code::handshake_rejected) {
    if (f.status == 401 || f.status == 403) {
      f.code = failure_code::auth;
      f.message += " — the server refused the credentials; fix the token or headers (not retrying)";
      v.terminal = true;
    } else if (f.status >= 300 && f.status <= 399) {
      f.message += " — the server redirects elsewhere (see .headers.location); set followRedirects to follow "
                   "(not retrying)";
      v.terminal = true;
      v.redirect = true;
    } else if (f.status == 400 || f.status == 404) {
      f.message += " — the server will not accept this request; check the URL and headers (not retrying)";
      v.terminal = true;
    } else if (honours_retry_after(f.status) && f.retry_after_ms > 0) {
      v.min_delay_ms = f.retry_after_ms;
    }
    return v;
  }
  if (f.code == failure_code::tls_verify || f.code == failure_code::proxy_auth) {
    v.terminal = true;
    return v;
  }
  // A close code only means something when the server chose it: after an open connection that
  // ended without a failure of our own.
  if (end.opened && !f && end.close_code >= 0 && end.close_code <= 0xffff &&
      std::find(stop_on_close_codes.begin(), stop_on_close_codes.end(),
                static_cast<std::uint16_t>(end.close_code)) != stop_on_close_codes.end()) {
    v.terminal = true;
    f.code = failure_code::closed_by_server;
    f.message = "the server closed the connection with " + std::to_string(end.close_code) +
                (end.reason.empty() ? "" : " (" + end.reason + ")") +
                ", a code listed in reconnect.stopOnCloseCodes; not reconnecting";
    f.close_code = end.close_code;
  }
  return v;
}

}  // namespace rws
