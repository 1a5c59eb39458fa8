#pragma once
// The one table of stable error codes, as rws::failure_code (boost::system::error_code
// is the I/O error type). lib/errors.js holds the same names; the README
// documents them. The core reports failures as an rws::failure {code, message, ...}; the binding
// turns the code into the string below and lib/ builds the JS Error.
#include <cstdint>
#include <string_view>

namespace rws {

enum class failure_code : std::uint8_t {
  none = 0,
  invalid_option,       // ERR_INVALID_OPTION
  closed,               // ERR_CLOSED: send after close
  connect_timeout,      // ERR_CONNECT_TIMEOUT
  dns,                  // ERR_DNS
  connection_refused,   // ERR_CONNECTION_REFUSED
  connection_lost,      // ERR_CONNECTION_LOST: reset / EOF without a close frame (not terminal)
  handshake_rejected,   // ERR_HANDSHAKE_REJECTED (.status, .headers)
  auth,                 // ERR_AUTH
  tls_verify,           // ERR_TLS_VERIFY (.reason)
  heartbeat_timeout,    // ERR_HEARTBEAT_TIMEOUT
  protocol,             // ERR_PROTOCOL
  message_too_large,    // ERR_MESSAGE_TOO_LARGE
  retries_exhausted,    // ERR_RETRIES_EXHAUSTED
  outbox_full,          // ERR_OUTBOX_FULL
  outbox_io,            // ERR_OUTBOX_IO
  outbox_locked,        // ERR_OUTBOX_LOCKED
  outbox_corrupt,       // ERR_OUTBOX_CORRUPT
  closed_by_server,     // ERR_CLOSED_BY_SERVER: a close code listed in stopOnCloseCodes
  proxy,                // ERR_PROXY: the proxy is unreachable or refused the tunnel (retried)
  proxy_auth,           // ERR_PROXY_AUTH: the proxy answered 407 (terminal)
};

constexpr std::string_view failure_code_name(failure_code code) {
  switch (code) {
    case failure_code::none: return "";
    case failure_code::invalid_option: return "ERR_INVALID_OPTION";
    case failure_code::closed: return "ERR_CLOSED";
    case failure_code::connect_timeout: return "ERR_CONNECT_TIMEOUT";
    case failure_code::dns: return "ERR_DNS";
    case failure_code::connection_refused: return "ERR_CONNECTION_REFUSED";
    case failure_code::connection_lost: return "ERR_CONNECTION_LOST";
    case failure_code::handshake_rejected: return "ERR_HANDSHAKE_REJECTED";
    case failure_code::auth: return "ERR_AUTH";
    case failure_code::tls_verify: return "ERR_TLS_VERIFY";
    case failure_code::heartbeat_timeout: return "ERR_HEARTBEAT_TIMEOUT";
    case failure_code::protocol: return "ERR_PROTOCOL";
    case failure_code::message_too_large: return "ERR_MESSAGE_TOO_LARGE";
    case failure_code::retries_exhausted: return "ERR_RETRIES_EXHAUSTED";
    case failure_code::outbox_full: return "ERR_OUTBOX_FULL";
    case failure_code::outbox_io: return "ERR_OUTBOX_IO";
    case failure_code::outbox_locked: return "ERR_OUTBOX_LOCKED";
    case failure_code::outbox_corrupt: return "ERR_OUTBOX_CORRUPT";
    case failure_code::closed_by_server: return "ERR_CLOSED_BY_SERVER";
    case failure_code::proxy: return "ERR_PROXY";
    case failure_code::proxy_auth: return "ERR_PROXY_AUTH";
  }
  return "ERR_UNKNOWN";
}

}  // namespace rws
