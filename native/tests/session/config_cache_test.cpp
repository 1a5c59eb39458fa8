#include "session/config_cache.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace rws {
namespace {

session_config config_for(const std::string& host) {
  session_config config;
  config.urls.push_back(make_ws_url(false, host, 8080, "/feed", ""));
  config.proxies.emplace_back();
  return config;
}

TEST(ConfigCache, EqualConfigsShareOneCopy) {
  config_cache cache;
  auto a = cache.share(config_for("a.example"));
  auto b = cache.share(config_for("a.example"));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ConfigCache, AnyDifferingFieldGetsItsOwnCopy) {
  // Fields the hash does not look at must still keep configs apart (operator== decides).
  config_cache cache;
  auto base = cache.share(config_for("a.example"));
  auto other_host = config_for("b.example");
  auto other_timeout = config_for("a.example");
  other_timeout.connect_timeout_ms = 1234;
  auto other_ack = config_for("a.example");
  other_ack.outbox.ack_match.push_back({{"type"}, {json_scalar::kind::string, "ack"}});
  auto other_jitter = config_for("a.example");
  other_jitter.reconnect.curve.jitter = jitter_kind::equal;
  auto other_pong = config_for("a.example");
  other_pong.heartbeat.pong = "PONG";
  std::vector<std::shared_ptr<const session_config>> held;
  for (auto* config : {&other_host, &other_timeout, &other_ack, &other_jitter, &other_pong}) {
    held.push_back(cache.share(*config));
    EXPECT_NE(held.back().get(), base.get());
    EXPECT_EQ(*held.back(), *config);
  }
  EXPECT_EQ(cache.size(), 6u);
}

TEST(ConfigCache, AConfigNoSessionUsesIsNotReturnedAndIsSweptAway) {
  config_cache cache;
  std::weak_ptr<const session_config> first;
  {
    auto a = cache.share(config_for("a.example"));
    first = a;
  }
  EXPECT_TRUE(first.expired());  // the cache alone does not keep a config alive
  auto again = cache.share(config_for("a.example"));
  EXPECT_EQ(*again, config_for("a.example"));
  EXPECT_EQ(cache.size(), 1u);  // the expired entry's slot was reused

  // Many distinct configs that come and go: the cache stays bounded by those in use.
  std::vector<std::shared_ptr<const session_config>> live;
  for (int i = 0; i < 10000; ++i) {
    auto shared = cache.share(config_for("host" + std::to_string(i) + ".example"));
    if (i % 100 == 0) live.push_back(shared);
  }
  EXPECT_LE(cache.size(), 2 * (live.size() + 1) + 2);
  for (const auto& config : live) EXPECT_EQ(cache.share(*config).get(), config.get());
}

}  // namespace
}  // namespace rws
