// The failure policy: which ends are terminal and which are retried, and the least
// delay a server may impose. Every HTTP status class, every close code class and every failure
// the connection reports.
#include "session/failure_policy.hpp"

#include <gtest/gtest.h>

namespace rws {
namespace {

const std::vector<std::uint16_t> stop_codes{1008, 4401, 4403};

failure make(failure_code code, int status = 0, std::int64_t retry_after_ms = -1) {
  failure f;
  f.code = code;
  f.message = "the failure";
  f.status = status;
  f.retry_after_ms = retry_after_ms;
  return f;
}

failure_verdict rejected(int status, std::int64_t retry_after_ms = -1) {
  return classify_end({make(failure_code::handshake_rejected, status, retry_after_ms), false, 1006, {}}, stop_codes);
}

failure_verdict closed_by_server(int code, std::string reason = {}) {
  return classify_end({failure{}, true, code, std::move(reason)}, stop_codes);
}

TEST(FailurePolicy, Status401And403AreTerminalAuthFailures) {
  for (int status : {401, 403}) {
    auto v = rejected(status);
    EXPECT_TRUE(v.terminal) << status;
    EXPECT_EQ(v.error.code, failure_code::auth) << status;
    EXPECT_NE(v.error.message.find("not retrying"), std::string::npos);
    EXPECT_EQ(v.error.status, status);
  }
}

TEST(FailurePolicy, Status400And404AreTerminalRejections) {
  for (int status : {400, 404}) {
    auto v = rejected(status);
    EXPECT_TRUE(v.terminal) << status;
    EXPECT_EQ(v.error.code, failure_code::handshake_rejected) << status;
    EXPECT_NE(v.error.message.find("check the URL"), std::string::npos);
  }
}

TEST(FailurePolicy, Status429And503RetryNoSoonerThanRetryAfter) {
  for (int status : {429, 503}) {
    auto v = rejected(status, 7000);
    EXPECT_FALSE(v.terminal) << status;
    EXPECT_EQ(v.min_delay_ms, 7000) << status;
    EXPECT_EQ(v.error.code, failure_code::handshake_rejected);
    // Without Retry-After (or an unparsable one, -1) plain backoff applies.
    EXPECT_EQ(rejected(status).min_delay_ms, 0);
  }
}

TEST(FailurePolicy, RedirectsAreTerminalAndMarkedForFollowing) {
  // Retrying the same URL gets the same 3xx: by default it ends the socket, with the Location in
  // .headers; the session follows it instead when followRedirects allows.
  for (int status : {300, 301, 302, 303, 307, 308}) {
    auto v = rejected(status, 9000);
    EXPECT_TRUE(v.terminal) << status;
    EXPECT_TRUE(v.redirect) << status;
    EXPECT_EQ(v.error.code, failure_code::handshake_rejected) << status;
    EXPECT_NE(v.error.message.find("followRedirects"), std::string::npos);
  }
  EXPECT_FALSE(rejected(503).redirect);
}

TEST(FailurePolicy, ProxyCredentialsRefusedIsTerminalAnUnreachableProxyRetries) {
  auto auth = classify_end({make(failure_code::proxy_auth, 407), false, 1006, {}}, stop_codes);
  EXPECT_TRUE(auth.terminal);
  EXPECT_EQ(auth.error.code, failure_code::proxy_auth);
  auto down = classify_end({make(failure_code::proxy, 502), false, 1006, {}}, stop_codes);
  EXPECT_FALSE(down.terminal);
  EXPECT_EQ(down.error.code, failure_code::proxy);
}

TEST(FailurePolicy, OtherStatusesRetryWithPlainBackoffAndIgnoreRetryAfter) {
  // Other 5xx and any other non-101 answer: retry. Retry-After counts only on 429/503, where the
  // server says when it can take us again.
  for (int status : {500, 502, 504, 599, 200, 402, 405, 418, 426}) {
    auto v = rejected(status, 9000);
    EXPECT_FALSE(v.terminal) << status;
    EXPECT_EQ(v.min_delay_ms, 0) << status;
    EXPECT_EQ(v.error.code, failure_code::handshake_rejected) << status;
  }
}

TEST(FailurePolicy, TlsVerificationFailureIsTerminal) {
  auto f = make(failure_code::tls_verify);
  f.reason = "self-signed certificate";
  auto v = classify_end({f, false, 1006, {}}, stop_codes);
  EXPECT_TRUE(v.terminal);
  EXPECT_EQ(v.error.code, failure_code::tls_verify);
  EXPECT_EQ(v.error.reason, "self-signed certificate");
}

TEST(FailurePolicy, TransientFailuresRetryUnchanged) {
  for (auto code : {failure_code::dns, failure_code::connection_refused, failure_code::connect_timeout,
                    failure_code::connection_lost, failure_code::heartbeat_timeout, failure_code::protocol,
                    failure_code::message_too_large}) {
    for (bool opened : {false, true}) {
      auto v = classify_end({make(code), opened, opened ? 1002 : 1006, {}}, stop_codes);
      EXPECT_FALSE(v.terminal) << failure_code_name(code);
      EXPECT_EQ(v.error.code, code);
      EXPECT_EQ(v.error.message, "the failure");
      EXPECT_EQ(v.min_delay_ms, 0);
    }
  }
}

TEST(FailurePolicy, StopOnCloseCodesAreTerminalWithTheCodeAndReason) {
  for (int code : {1008, 4401, 4403}) {
    auto v = closed_by_server(code, "go away");
    EXPECT_TRUE(v.terminal) << code;
    EXPECT_EQ(v.error.code, failure_code::closed_by_server);
    EXPECT_EQ(v.error.close_code, code);
    EXPECT_NE(v.error.message.find(std::to_string(code) + " (go away)"), std::string::npos) << v.error.message;
    EXPECT_NE(v.error.message.find("stopOnCloseCodes"), std::string::npos);
  }
}

TEST(FailurePolicy, OtherCloseCodesRetry) {
  for (int code : {1000, 1001, 1005, 1006, 1011, 1012, 1013, 3000, 4000, 4999}) {
    auto v = closed_by_server(code);
    EXPECT_FALSE(v.terminal) << code;
    EXPECT_FALSE(v.error) << code;
  }
}

TEST(FailurePolicy, StopCodeListIsTheConfiguredOne) {
  EXPECT_FALSE(classify_end({failure{}, true, 1008, {}}, {}).terminal);  // an empty list stops on nothing
  EXPECT_TRUE(classify_end({failure{}, true, 4000, {}}, {4000}).terminal);
}

TEST(FailurePolicy, ACloseCodeCountsOnlyWhenTheServerChoseIt) {
  // Our own failure (e.g. a violation we closed with 1008-like codes) or an attempt that never
  // opened is classified by its failure, not by the close code number.
  EXPECT_FALSE(classify_end({make(failure_code::protocol), true, 1008, {}}, stop_codes).terminal);
  EXPECT_FALSE(classify_end({failure{}, false, 4401, {}}, stop_codes).terminal);
}

}  // namespace
}  // namespace rws
