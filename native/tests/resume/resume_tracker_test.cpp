// The resume tracker: position, dedupe, gap counting, replay phase and the policy for
// storing the received position, without a socket or a file (the store is a recording lambda).
#include "resume/resume_tracker.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace rws {
namespace {

using namespace std::chrono_literals;
using verdict = resume_tracker::verdict;

resume_config enabled_config(std::size_t window = 10000) {
  resume_config c;
  c.enabled = true;
  c.window = window;
  return c;
}

struct tracker_fixture {
  std::vector<std::string> stored;
  resume_tracker tracker;
  explicit tracker_fixture(resume_config config = enabled_config())
      : tracker(config, [this](const std::string& token) { stored.push_back(token); }) {}
  verdict text(std::string_view payload) {
    std::string id;
    bool is_string = false;
    return tracker.on_text(payload, id, is_string);
  }
};

resume_tracker::time_point at(std::chrono::milliseconds ms) { return resume_tracker::time_point{} + 1h + ms; }

TEST(ResumeTracker, DisabledFindsNoIdsAndStoresNothing) {
  tracker_fixture f(resume_config{});
  EXPECT_EQ(f.text(R"({"id":1})"), verdict::no_id);
  EXPECT_TRUE(f.tracker.last_id().empty());
}

TEST(ResumeTracker, FreshIdsBecomeThePositionAndRepeatsAreDuplicates) {
  tracker_fixture f;
  std::string id;
  bool is_string = true;
  EXPECT_EQ(f.tracker.on_text(R"({"id":7,"x":1})", id, is_string), verdict::fresh);
  EXPECT_EQ(id, "7");
  EXPECT_FALSE(is_string);
  EXPECT_EQ(f.tracker.on_text(R"({"id":"a\"b"})", id, is_string), verdict::fresh);
  EXPECT_EQ(id, "a\"b");
  EXPECT_TRUE(is_string);
  EXPECT_EQ(f.tracker.last_id_token(), R"("a\"b")");
  EXPECT_EQ(f.text(R"({"id":7})"), verdict::duplicate);
  EXPECT_EQ(f.text(R"({"no":7})"), verdict::no_id);
  EXPECT_EQ(f.text("not json"), verdict::no_id);
  EXPECT_EQ(f.tracker.last_id(), "a\"b");  // duplicates and id-less messages leave the position
}

TEST(ResumeTracker, DedupeWindowForgetsTheOldestIds) {
  tracker_fixture f(enabled_config(2));
  f.text(R"({"id":1})");
  f.text(R"({"id":2})");
  f.text(R"({"id":3})");
  EXPECT_EQ(f.text(R"({"id":1})"), verdict::fresh);  // evicted, so delivered again
  EXPECT_EQ(f.text(R"({"id":3})"), verdict::duplicate);
}

TEST(ResumeTracker, CountsNumericGapsAndTheIdsTheySkipped) {
  tracker_fixture f;
  for (const char* m : {R"({"id":1})", R"({"id":2})", R"({"id":5})", R"({"id":6})", R"({"id":10})"}) f.text(m);
  EXPECT_EQ(f.tracker.id_gaps(), 2u);
  EXPECT_EQ(f.tracker.ids_missing(), 2u + 3u);
  f.text(R"({"id":"x"})");  // non-numeric: no gap
  f.text(R"({"id":20})");
  EXPECT_EQ(f.tracker.id_gaps(), 2u);
}

TEST(ResumeTracker, RestoreTakesTheStoredTokenAsBothPositions) {
  tracker_fixture f;
  EXPECT_FALSE(f.tracker.restore(""));
  EXPECT_FALSE(f.tracker.restore("{bad"));
  EXPECT_TRUE(f.tracker.last_id().empty());
  ASSERT_TRUE(f.tracker.restore(R"("ev-9")"));
  EXPECT_EQ(f.tracker.last_id(), "ev-9");
  EXPECT_TRUE(f.tracker.last_id_is_string());
  // Restored is already stored: nothing to write at the end.
  f.tracker.adopt_parsed_as_delivered();
  f.tracker.store_if_changed();
  EXPECT_TRUE(f.stored.empty());
}

TEST(ResumeTracker, ReplayPhaseLastsFromAResumedOpenUntilDrainedOrAPause) {
  tracker_fixture f;
  f.tracker.on_open(false, at(0ms));
  EXPECT_FALSE(f.tracker.on_data(at(1ms)));  // a fresh connection replays nothing
  f.tracker.on_open(true, at(1000ms));
  EXPECT_TRUE(f.tracker.on_data(at(1010ms)));
  EXPECT_TRUE(f.tracker.on_data(at(1100ms)));  // 90 ms after the last read: still the burst
  EXPECT_FALSE(f.tracker.on_data(at(1201ms)));  // 101 ms of quiet: live from here
  EXPECT_FALSE(f.tracker.on_data(at(1202ms)));
  f.tracker.on_open(true, at(2000ms));
  EXPECT_TRUE(f.tracker.on_data(at(2001ms)));
  f.tracker.on_drained();  // a read left the kernel buffer empty
  EXPECT_FALSE(f.tracker.replaying());
}

TEST(ResumeTracker, StoresTheReceivedIdGroupedNotThePositionParsed) {
  tracker_fixture f;
  f.text(R"({"id":1})");
  f.text(R"({"id":2})");
  f.text(R"({"id":3})");
  // JavaScript received up to 1: the first delivery schedules one store; later ones ride along.
  EXPECT_TRUE(f.tracker.on_delivered("1", false));
  EXPECT_FALSE(f.tracker.on_delivered("2", false));
  f.tracker.store_if_changed();
  EXPECT_EQ(f.stored, std::vector<std::string>{"2"});
  f.tracker.store_if_changed();  // nothing new: no second write
  EXPECT_EQ(f.stored.size(), 1u);
  EXPECT_TRUE(f.tracker.on_delivered("x\n", true));  // stored as a JSON string, escaped
  f.tracker.store_if_changed();
  EXPECT_EQ(f.stored.back(), R"("x\n")");
}

TEST(ResumeTracker, ARegularEndStoresTheNewestParsedId) {
  tracker_fixture f;
  f.text(R"({"id":1})");
  f.text(R"({"id":"two"})");
  f.tracker.on_delivered("1", false);
  f.tracker.store_if_changed();
  f.tracker.adopt_parsed_as_delivered();  // everything parsed is queued ahead of 'close'
  f.tracker.store_if_changed();
  EXPECT_EQ(f.stored, (std::vector<std::string>{"1", R"("two")"}));
}

}  // namespace
}  // namespace rws
