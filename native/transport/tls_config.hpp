#pragma once
// TLS settings of a session, validated and defaulted by lib/options.js.
#include <string>

namespace rws {

struct tls_config {
  std::string ca;          // PEM; empty = system trust store
  std::string cert;        // client certificate (PEM), optional
  std::string key;         // client key (PEM), optional
  std::string passphrase;
  std::string servername;  // SNI and verification name; empty = the URL's host
  bool reject_unauthorized = true;

  bool operator==(const tls_config&) const = default;
};

}  // namespace rws
