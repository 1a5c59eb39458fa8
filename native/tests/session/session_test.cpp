// The session (state machine and failure handling) over fake transports: no sockets, a real
// io_context run by hand, real timers kept short. Every state transition, close() and
// reconnect() in every state they apply to, and every failure class the session can meet.
#include "session/session.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "tests/transport/fake_transport.hpp"

namespace rws {
namespace {

using namespace rws::test;
using namespace std::chrono_literals;

struct recording_sink : event_sink {
  std::vector<session_event> events;
  void push(std::vector<session_event>& batch) override {
    for (auto& e : batch) events.push_back(std::move(e));
    batch.clear();
  }
  std::uint64_t backlog_bytes() const override { return 0; }
};

class SessionTest : public ::testing::Test {
 protected:
  asio::io_context io;
  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
  session_stats* stats = nullptr;  // the session's, from make()
  std::vector<std::shared_ptr<fake_peer>> peers;  // one per attempt
  std::function<void(fake_peer&)> prepare;        // runs on each new attempt's peer
  std::shared_ptr<session> s;
  session_config config;

  SessionTest() {
    config.urls = {make_ws_url(false, "example.test", 0, "/live", "")};
    config.heartbeat.enabled = false;
    config.connect_timeout_ms = 2000;
    config.reconnect.curve.initial_delay_ms = 1;
    config.reconnect.curve.max_delay_ms = 5;
    config.reconnect.curve.jitter = jitter_kind::none;
  }

  void make(bool connect_now = true) {
    s = std::make_shared<session>(io, std::make_shared<const session_config>(config), sink, nullptr);
    stats = &s->stats();
    s->set_transport_factory([this](const connection_params&) {
      peers.push_back(std::make_shared<fake_peer>(io));
      if (prepare) prepare(*peers.back());
      return std::make_unique<fake_transport>(io, peers.back());
    });
    s->start(connect_now);
    settle(io);
  }
  fake_server server(std::size_t attempt) { return fake_server{peers.at(attempt - 1), 0}; }
  // Answers the upgrade of attempt n (1-based), once its request is there.
  fake_server answer(std::size_t attempt, int status = 101, std::string_view headers = {}) {
    EXPECT_TRUE(run_until(io, [&] { return peers.size() >= attempt && server(attempt).has_request(); }));
    auto srv = server(attempt);
    srv.answer(status, headers);
    settle(io);
    return srv;
  }

  std::vector<std::string> states() const {
    std::vector<std::string> out;
    for (const auto& e : sink->events) {
      if (e.kind == event_kind::state) out.push_back(state_name(e.state));
    }
    return out;
  }
  const session_event* last(event_kind kind) const {
    for (auto it = sink->events.rbegin(); it != sink->events.rend(); ++it) {
      if (it->kind == kind) return &*it;
    }
    return nullptr;
  }
  bool has(event_kind kind) const { return last(kind) != nullptr; }
  bool wait_for(event_kind kind, std::chrono::milliseconds limit = 3000ms) {
    return run_until(io, [&] { return has(kind); }, limit);
  }

  void TearDown() override {
    if (s) s->shutdown();
    settle(io);
  }
};

using states_t = std::vector<std::string>;

TEST_F(SessionTest, IdleThenConnectThenOpen) {
  make(false);
  EXPECT_TRUE(states().empty());  // idle until connect()
  EXPECT_TRUE(peers.empty());
  s->connect();
  settle(io);
  EXPECT_EQ(states(), states_t{"connecting"});
  ASSERT_TRUE(has(event_kind::connecting));
  EXPECT_EQ(last(event_kind::connecting)->detail->attempt, 1u);
  answer(1);
  EXPECT_EQ(states(), (states_t{"connecting", "open"}));
  EXPECT_FALSE(last(event_kind::open)->detail->reconnected);
  EXPECT_EQ(stats->connects, 1u);
}

TEST_F(SessionTest, DroppedConnectionReconnectsAndOpensAgain) {
  make();
  answer(1);
  peers[0]->end();  // EOF without a close frame
  settle(io);
  const auto* d = last(event_kind::disconnect);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->detail->code, 1006);
  EXPECT_TRUE(d->detail->will_reconnect);
  EXPECT_EQ(d->detail->error->code, failure_code::connection_lost);
  ASSERT_TRUE(has(event_kind::reconnecting));
  answer(2);
  EXPECT_EQ(states(), (states_t{"connecting", "open", "reconnecting", "connecting", "open"}));
  EXPECT_TRUE(last(event_kind::open)->detail->reconnected);
  EXPECT_EQ(stats->reconnects, 1u);
}

// An opening's state changes have no reason and carry their states in the event itself, with no
// detail block (two blocks fewer per opening); a change that has a reason keeps it.
TEST_F(SessionTest, StateEventsCarryADetailOnlyForAReason) {
  make();
  answer(1);
  peers[0]->end();
  settle(io);
  std::vector<const session_event*> changes;
  for (const auto& e : sink->events) {
    if (e.kind == event_kind::state) changes.push_back(&e);
  }
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0]->previous, session_state::idle);
  EXPECT_EQ(changes[0]->state, session_state::connecting);
  EXPECT_EQ(changes[0]->detail, nullptr);
  EXPECT_EQ(changes[1]->previous, session_state::connecting);
  EXPECT_EQ(changes[1]->state, session_state::open);
  EXPECT_EQ(changes[1]->detail, nullptr);
  EXPECT_EQ(changes[2]->previous, session_state::open);
  EXPECT_EQ(changes[2]->state, session_state::reconnecting);
  ASSERT_NE(changes[2]->detail, nullptr);
  EXPECT_FALSE(changes[2]->detail->reason.empty());
  EXPECT_EQ(last(event_kind::reconnecting)->detail->reason, changes[2]->detail->reason);
}

// reconnect.stableAfter: a connection that dropped before it had proved itself backs off from
// where the count was; one that stayed open long enough starts over, first retry at once. Judged
// when the connection ends (no timer per socket); stats() reads the count as 0 from the moment
// the connection is stable.
TEST_F(SessionTest, AConnectionThatDropsBeforeStableAfterKeepsCounting) {
  config.reconnect.stable_after_ms = 60000;
  config.reconnect.curve.initial_delay_ms = 20;
  config.reconnect.curve.max_delay_ms = 20;
  make();
  answer(1);
  EXPECT_EQ(stats->attempt, 1u);
  EXPECT_GT(stats->stable_at_ms.load(), 0);
  peers[0]->end();
  settle(io);
  EXPECT_EQ(stats->stable_at_ms, -1);
  const auto* r = last(event_kind::reconnecting);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->detail->attempt, 2u);
  EXPECT_EQ(r->detail->delay_ms, 20);
}

// stats() reads whole milliseconds: the instant it calls the connection stable must not come
// before the one mark_disconnected judges by (found as a flaky test: a server killed right when
// stats() said stable saw a backed-off retry, attempt 2, instead of the immediate attempt 1).
TEST_F(SessionTest, StatsNeverCallAConnectionStableBeforeTheSessionDoes) {
  config.reconnect.stable_after_ms = 300;
  make();
  const auto before = steady_clock::now();
  answer(1);
  // The session's instant is at least before + 300 ms; stats() may say stable only from the
  // first whole millisecond at or after it.
  const auto earliest = std::chrono::ceil<std::chrono::milliseconds>((before + 300ms).time_since_epoch()).count();
  EXPECT_GE(stats->stable_at_ms.load(), earliest);
}

TEST_F(SessionTest, AConnectionOpenForStableAfterStartsTheCountOver) {
  config.reconnect.stable_after_ms = 30;
  config.reconnect.curve.initial_delay_ms = 20;
  config.reconnect.curve.max_delay_ms = 20;
  config.reconnect.curve.immediate = true;
  make();
  answer(1);
  peers[0]->end();  // a first connection that did not last: attempt 2 after a delay
  settle(io);
  answer(2);
  EXPECT_EQ(stats->attempt, 2u);
  run_until(io, [] { return false; }, 60ms);  // past stableAfter
  const auto stable_at = stats->stable_at_ms.load();
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now().time_since_epoch()).count();
  EXPECT_LE(stable_at, now_ms);  // stats() reads attempt as 0 from here
  peers[1]->end();
  settle(io);
  const auto* r = last(event_kind::reconnecting);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->detail->attempt, 1u);
  EXPECT_EQ(r->detail->delay_ms, 0);  // the first retry after a stable connection goes at once
  EXPECT_EQ(last(event_kind::connecting)->detail->attempt, 1u);
}

// The JavaScript thread's direct writes (transport/direct_lane.hpp) seen from the session: the
// rest of a frame the kernel took only in part. The direct writes go to a socketpair; the fake
// transport records what the io thread writes.
class SessionDirectWriteTest : public SessionTest {
 protected:
  int fds[2] = {-1, -1};
  std::string payload = std::string(100000, 'm');
  std::string frame;

  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    prepare = [this](fake_peer& p) { p.direct_fd = fds[0]; };
    encode_client_frame(frame, opcode::text, payload.data(), payload.size(), 0x01020304);
  }
  void TearDown() override {
    SessionTest::TearDown();
    for (int fd : fds) ::close(fd);
  }
  // A direct write the kernel takes only in part (the socketpair is nearly full).
  direct_lane::write_result write_in_part() {
    int small = 4096;
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const std::string chunk(1024, 'f');
    while (::send(fds[0], chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
    }
    std::string room(2048, '\0');
    ::recv(fds[1], room.data(), room.size(), 0);
    return s->lane()->try_write(frame.data(), frame.size());
  }
  const session_event* sent_for(std::uint64_t request) const {
    for (const auto& e : sink->events) {
      if (e.kind == event_kind::sent && e.detail->first_request == request) return &e;
    }
    return nullptr;
  }
};

TEST_F(SessionDirectWriteTest, TheRestOfAFrameGoesOutBeforeAPongQueuedMeanwhile) {
  make();
  auto srv = answer(1);
  ASSERT_TRUE(s->lane());
  auto r = write_in_part();
  ASSERT_EQ(r.what, direct_lane::write_result::kind::partial);
  const std::string tail = frame.substr(r.written);
  // A ping arrives while the rest of the frame is on its way: the pong must wait for it.
  peers[0]->send(server_frame(opcode::ping, "hb"));
  settle(io);
  EXPECT_EQ(peers[0]->from_client.size(), srv.request_bytes);
  s->send_tail(outgoing_message{payload}, 7, r.seq, tail, r.generation);
  settle(io);
  const std::string written = peers[0]->from_client.substr(srv.request_bytes);
  ASSERT_GE(written.size(), tail.size());
  EXPECT_TRUE(written.compare(0, tail.size(), tail) == 0);
  auto after = parse_client_frames(std::string_view(written).substr(tail.size()));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].op, opcode::pong);
  const auto* sent = sent_for(7);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->detail->first_seq, r.seq);
  EXPECT_EQ(sent->detail->status, receipt_status::written);
  // Written out: the lane is JavaScript's again (once the socketpair has room).
  char drain[65536];
  while (::recv(fds[1], drain, sizeof drain, MSG_DONTWAIT) > 0) {
  }
  EXPECT_EQ(s->lane()->try_write("x", 1).what, direct_lane::write_result::kind::written);
}

TEST_F(SessionDirectWriteTest, TheLaneIsJavaScriptsOnceOpenAndAgainAfterEveryWriteOfTheIoThread) {
  using kind = direct_lane::write_result::kind;
  make();
  auto srv = answer(1);
  EXPECT_EQ(s->lane()->try_write("a", 1).what, kind::written);  // nothing to write after the open
  // The io thread writes a pong (no message in it): the lane is taken, then offered again.
  peers[0]->hold_writes = true;
  peers[0]->send(server_frame(opcode::ping, "p"));
  settle(io);
  EXPECT_EQ(s->lane()->try_write("b", 1).what, kind::not_free);
  peers[0]->hold_writes = false;
  peers[0]->release_writes();
  settle(io);
  EXPECT_EQ(s->lane()->try_write("c", 1).what, kind::written);
  // The same after a batch of sends through the io thread.
  s->lane()->handed_over();
  s->send(std::vector<outgoing_message>(2, outgoing_message{"m"}), 1);
  settle(io);
  EXPECT_EQ(srv.frames().size(), 3u);  // pong, m, m
  EXPECT_EQ(s->lane()->try_write("d", 1).what, kind::written);
}

// A batch accepted in slices (maxMessages) pumps between slices; the lane must not be offered
// there, or a later send written directly would overtake the rest of the batch. Slices of
// refused messages leave nothing to write, which is where the lane used to be offered: a thread
// playing JavaScript tries to write all along.
TEST_F(SessionDirectWriteTest, TheLaneIsNotOfferedInTheMiddleOfABatch) {
  config.outbox.max_messages = 1;
  config.outbox.max_bytes = 100;
  make();
  answer(1);
  peers[0]->hold_writes = true;  // the batch's last message stays in flight
  std::vector<outgoing_message> batch(20000, outgoing_message{std::string(300, 'o')});  // each too big
  batch.push_back(outgoing_message{"c"});
  std::atomic<bool> stop{false}, trying{false};
  std::atomic<int> written{0};
  s->lane()->handed_over();  // the batch is on its way: from here on nothing may be written directly
  std::thread javascript([&] {
    while (!stop) {
      trying = true;
      if (s->lane()->try_write("X", 1).what == direct_lane::write_result::kind::written) ++written;
    }
  });
  while (!trying) std::this_thread::yield();
  s->send(std::move(batch), 1);
  stop = true;
  javascript.join();
  EXPECT_EQ(written, 0);
}

// reconnect() while the rest of a frame JavaScript began is on its way: the old connection is
// abandoned with a close frame, but that must not follow half a data frame; the message goes out
// whole on the next connection.
TEST_F(SessionDirectWriteTest, AnAbandonedConnectionWritesNothingAfterAHalfFrame) {
  make();
  auto old_server = answer(1);
  auto r = write_in_part();
  ASSERT_EQ(r.what, direct_lane::write_result::kind::partial);
  s->reconnect();
  settle(io);
  s->send_tail(outgoing_message{payload}, 7, r.seq, frame.substr(r.written), r.generation);
  settle(io);
  auto srv = answer(2);
  // The old connection reads on (a ping comes) until its short deadline, and writes nothing.
  peers[0]->send(server_frame(opcode::ping, "late"));
  settle(io);
  EXPECT_EQ(peers[0]->from_client.size(), old_server.request_bytes);
  auto frames = srv.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload == payload);
}

TEST_F(SessionDirectWriteTest, AFrameBegunOnAConnectionThatEndedGoesOutWholeOnTheNext) {
  make();
  answer(1);
  auto r = write_in_part();
  ASSERT_EQ(r.what, direct_lane::write_result::kind::partial);
  peers[0]->end();
  settle(io);
  s->send_tail(outgoing_message{payload}, 7, r.seq, frame.substr(r.written), r.generation);
  settle(io);
  EXPECT_FALSE(sent_for(7));
  auto srv = answer(2);
  auto frames = srv.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload == payload);
  ASSERT_TRUE(sent_for(7));
}

TEST_F(SessionTest, MessagesInAndSendsOutWithReceipts) {
  make();
  auto srv = answer(1);
  peers[0]->send(server_frame(opcode::text, "hello") + server_frame(opcode::binary, "bin"));
  settle(io);
  std::vector<std::string> messages;
  for (const auto& e : sink->events) {
    if (e.kind == event_kind::message) messages.push_back(e.data);
  }
  EXPECT_EQ(messages, (std::vector<std::string>{"hello", "bin"}));
  std::vector<outgoing_message> batch(2);
  batch[0].data = "a";
  batch[1].data = "b";
  s->send(std::move(batch), 1);
  settle(io);
  auto frames = srv.frames();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].payload, "b");
  const auto* sent = last(event_kind::sent);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->detail->first_request, 1u);
  EXPECT_EQ(sent->detail->count, 2u);
  EXPECT_TRUE(has(event_kind::drain));
}

// stats().outboxSize is one counter: the binding adds a batch when JavaScript hands it over, the
// session moves it into the outbox's share. Counted exactly once from hand-over to receipt.
TEST_F(SessionTest, OutboxSizeCountsABatchOnceFromHandOverToReceipt) {
  make(false);
  auto hand_over = [&](std::size_t n, std::uint64_t first_request) {
    stats->outbox_size += n;  // what the binding does on the JavaScript thread
    s->send(std::vector<outgoing_message>(n, outgoing_message{"x"}), first_request);
    settle(io);
  };
  hand_over(3, 1);
  EXPECT_EQ(stats->outbox_size, 3u);  // queued while idle
  s->connect();
  answer(1);
  EXPECT_EQ(stats->outbox_size, 0u);  // written
  EXPECT_TRUE(has(event_kind::drain));
  s->close(1000, "");
  settle(io);
  hand_over(2, 4);
  EXPECT_EQ(stats->outbox_size, 0u);  // rejected after close(): not left counted
}

// The race the single counter closes: a reader on another thread (stats() on the JavaScript
// thread) never sees a batch counted twice or not at all while the session takes batches over.
TEST_F(SessionTest, OutboxSizeReadFromAnotherThreadStaysBetweenTakenAndHandedOver) {
  make(false);
  constexpr std::uint64_t sends = 3000;
  std::atomic<std::uint64_t> handed{0}, taken{0};
  std::atomic<bool> done{false};
  std::uint64_t low_reads = 0, high_reads = 0;
  std::thread reader([&] {
    while (!done) {
      const std::uint64_t lower = taken.load();
      const std::uint64_t seen = stats->outbox_size.load();
      const std::uint64_t upper = handed.load();
      if (seen < lower) ++low_reads;
      if (seen > upper) ++high_reads;
    }
  });
  for (std::uint64_t i = 0; i < sends; ++i) {
    ++handed;
    stats->outbox_size += 1;
    s->send(std::vector<outgoing_message>(1, outgoing_message{"x"}), i + 1);
    ++taken;
  }
  done = true;
  reader.join();
  EXPECT_EQ(low_reads, 0u);
  EXPECT_EQ(high_reads, 0u);
  EXPECT_EQ(stats->outbox_size, sends);
}

TEST_F(SessionTest, CloseWhileOpenRunsTheCloseHandshake) {
  make();
  auto srv = answer(1);
  s->close(1000, "done");
  settle(io);
  EXPECT_EQ(states().back(), "closing");
  auto frames = srv.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, close_payload(1000, "done"));
  peers[0]->send(server_close(1000));
  settle(io);
  EXPECT_EQ(states(), (states_t{"connecting", "open", "closing", "closed"}));
  EXPECT_EQ(last(event_kind::close)->detail->code, 1000);
  EXPECT_FALSE(last(event_kind::disconnect)->detail->will_reconnect);
}

TEST_F(SessionTest, CloseWhileConnectingEndsAtOnce) {
  make();
  s->close(1000, "bye");
  settle(io);
  EXPECT_EQ(states(), (states_t{"connecting", "closing", "closed"}));
  EXPECT_TRUE(peers[0]->closed);
  EXPECT_EQ(last(event_kind::close)->detail->code, 1000);
}

TEST_F(SessionTest, CloseWhileReconnectingCancelsTheRetry) {
  config.reconnect.curve.initial_delay_ms = 50;
  config.reconnect.curve.max_delay_ms = 50;
  make();
  answer(1);
  peers[0]->end();
  settle(io);
  ASSERT_EQ(states().back(), "reconnecting");
  s->close(1000, "bye");
  settle(io);
  EXPECT_EQ(states().back(), "closed");
  run_until(io, [] { return false; }, 100ms);  // past the retry delay
  EXPECT_EQ(peers.size(), 1u);                   // no new attempt
}

TEST_F(SessionTest, ReconnectWhileOpenTellsTheServerAndStartsANewAttempt) {
  make();
  auto srv = answer(1);
  s->reconnect();
  settle(io);
  const auto* d = last(event_kind::disconnect);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->detail->code, 4001);
  EXPECT_TRUE(d->detail->will_reconnect);
  auto frames = srv.frames();
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().payload, close_payload(4001, {}));
  answer(2);
  EXPECT_EQ(states(), (states_t{"connecting", "open", "connecting", "open"}));
}

TEST_F(SessionTest, ReconnectWhileReconnectingOrConnectingStartsAtOnce) {
  config.reconnect.curve.initial_delay_ms = 60000;  // only reconnect() can start the next attempt
  config.reconnect.curve.max_delay_ms = 60000;
  make();
  answer(1);
  peers[0]->end();
  settle(io);
  ASSERT_EQ(states().back(), "reconnecting");
  s->reconnect();
  settle(io);
  EXPECT_EQ(peers.size(), 2u);
  EXPECT_EQ(states().back(), "connecting");
  s->reconnect();  // while connecting: the attempt is replaced
  settle(io);
  EXPECT_EQ(peers.size(), 3u);
  EXPECT_TRUE(peers[1]->closed);
  answer(3);
  EXPECT_EQ(states().back(), "open");
}

TEST_F(SessionTest, CloseAndReconnectAfterCloseDoNothing) {
  make();
  s->close(1000, {});
  settle(io);
  auto n = sink->events.size();
  s->reconnect();
  s->close(1000, {});
  s->connect();
  settle(io);
  EXPECT_EQ(sink->events.size(), n);
  EXPECT_EQ(peers.size(), 1u);
}

// --- failure classes, through the session ---

TEST_F(SessionTest, AuthRefusalFailsWithoutRetry) {
  for (int status : {401, 403}) {
    sink->events.clear();
    peers.clear();
    make();
    answer(1, status);
    EXPECT_EQ(states(), (states_t{"connecting", "failed"})) << status;
    EXPECT_EQ(last(event_kind::failed)->detail->error->code, failure_code::auth);
    EXPECT_TRUE(has(event_kind::close));
    EXPECT_FALSE(has(event_kind::reconnecting));
  }
}

TEST_F(SessionTest, BadRequestAndNotFoundFailWithoutRetry) {
  for (int status : {400, 404}) {
    sink->events.clear();
    peers.clear();
    make();
    answer(1, status);
    EXPECT_EQ(states().back(), "failed") << status;
    EXPECT_EQ(last(event_kind::failed)->detail->error->code, failure_code::handshake_rejected);
    EXPECT_EQ(last(event_kind::failed)->detail->error->status, status);
  }
}

TEST_F(SessionTest, TooManyRequestsWaitsForRetryAfter) {
  make();
  answer(1, 429, "Retry-After: 3\r\n");
  const auto* r = last(event_kind::reconnecting);
  ASSERT_TRUE(r);
  EXPECT_GE(r->detail->delay_ms, 3000);
  EXPECT_EQ(r->detail->error->status, 429);
  EXPECT_EQ(states().back(), "reconnecting");
}

TEST_F(SessionTest, ServerErrorsRetryWithBackoff) {
  for (int status : {500, 503}) {
    sink->events.clear();
    peers.clear();
    make();
    answer(1, status);
    const auto* r = last(event_kind::reconnecting);
    ASSERT_TRUE(r) << status;
    EXPECT_LE(r->detail->delay_ms, 5) << status;  // the backoff curve of this fixture
    ASSERT_TRUE(wait_for(event_kind::connecting) && run_until(io, [&] { return peers.size() == 2; })) << status;
    s->shutdown();
    settle(io);
  }
}

TEST_F(SessionTest, TlsVerificationFailureFails) {
  prepare = [](fake_peer& p) {
    p.secure_error = asio::error::access_denied;
    p.verify_failure = "self-signed certificate";
  };
  make();
  EXPECT_EQ(states(), (states_t{"connecting", "failed"}));
  EXPECT_EQ(last(event_kind::failed)->detail->error->code, failure_code::tls_verify);
  EXPECT_EQ(last(event_kind::failed)->detail->error->reason, "self-signed certificate");
}

TEST_F(SessionTest, ConnectTimeoutRetries) {
  config.connect_timeout_ms = 20;
  make();  // never answered
  ASSERT_TRUE(wait_for(event_kind::reconnecting));
  EXPECT_EQ(last(event_kind::reconnecting)->detail->error->code, failure_code::connect_timeout);
  EXPECT_FALSE(has(event_kind::disconnect));  // it never opened
}

TEST_F(SessionTest, ProtocolViolationDisconnectsWith1002AndRetries) {
  make();
  auto srv = answer(1);
  peers[0]->send(server_frame(opcode::binary, "masked?", true, 0x2));  // RSV2 without an extension
  settle(io);
  const auto* d = last(event_kind::disconnect);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->detail->code, 1002);
  EXPECT_EQ(d->detail->error->code, failure_code::protocol);
  EXPECT_TRUE(d->detail->will_reconnect);
  EXPECT_EQ(srv.frames().back().payload.substr(0, 2), close_payload(1002, {}));
}

TEST_F(SessionTest, OversizeMessageDisconnectsWith1009AndRetries) {
  config.max_message_size = 8;
  make();
  answer(1);
  peers[0]->send(server_frame(opcode::text, "123456789"));
  settle(io);
  const auto* d = last(event_kind::disconnect);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->detail->code, 1009);
  EXPECT_EQ(d->detail->error->code, failure_code::message_too_large);
  EXPECT_EQ(states().back(), "reconnecting");
}

TEST_F(SessionTest, UnansweredHeartbeatDisconnectsWith4000AndRetries) {
  config.heartbeat.enabled = true;
  config.heartbeat.interval_ms = 20;
  config.heartbeat.timeout_ms = 20;
  make();
  auto srv = answer(1);  // the fake server never answers pings
  ASSERT_TRUE(wait_for(event_kind::disconnect));
  const auto* d = last(event_kind::disconnect);
  EXPECT_EQ(d->detail->code, 4000);
  EXPECT_EQ(d->detail->error->code, failure_code::heartbeat_timeout);
  EXPECT_TRUE(d->detail->will_reconnect);
  auto frames = srv.frames();
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[0].op, opcode::ping);
  EXPECT_GE(stats->heartbeats_sent, 1u);
}

TEST_F(SessionTest, StopOnCloseCodeFails) {
  make();
  answer(1);
  peers[0]->send(server_close(4401, "token expired"));
  settle(io);
  EXPECT_EQ(states(), (states_t{"connecting", "open", "failed"}));
  const failure& error = *last(event_kind::failed)->detail->error;
  EXPECT_EQ(error.code, failure_code::closed_by_server);
  EXPECT_EQ(error.close_code, 4401);
  EXPECT_FALSE(last(event_kind::disconnect)->detail->will_reconnect);
}

TEST_F(SessionTest, OtherCloseCodesReconnect) {
  make();
  answer(1);
  peers[0]->send(server_close(1012, "restart"));
  settle(io);
  EXPECT_EQ(states().back(), "reconnecting");
  EXPECT_TRUE(last(event_kind::disconnect)->detail->was_clean);
}

TEST_F(SessionTest, RetriesExhaustedFails) {
  config.reconnect.max_retries = 1;
  make();
  answer(1, 500);
  answer(2, 500);
  EXPECT_EQ(states(), (states_t{"connecting", "reconnecting", "connecting", "failed"}));
  EXPECT_EQ(last(event_kind::failed)->detail->error->code, failure_code::retries_exhausted);
  EXPECT_EQ(last(event_kind::failed)->detail->error->status, 500);
}

TEST_F(SessionTest, TheCloseAfterAFailureCarriesItsMessage) {
  make();
  answer(1, 401);
  const session_event* failed = last(event_kind::failed);
  const session_event* closed = last(event_kind::close);
  ASSERT_TRUE(failed && closed);
  EXPECT_FALSE(failed->detail->error->message.empty());
  EXPECT_EQ(closed->detail->reason, failed->detail->error->message);
  EXPECT_EQ(closed->detail->code, 1006);
}

TEST_F(SessionTest, WithoutReconnectAFailedAttemptFailsAndADropCloses) {
  config.reconnect.enabled = false;
  make();
  answer(1, 500);
  EXPECT_EQ(states(), (states_t{"connecting", "failed"}));
  EXPECT_EQ(last(event_kind::failed)->detail->error->code, failure_code::handshake_rejected);

  sink->events.clear();
  peers.clear();
  make();
  answer(1);
  peers[0]->end();
  settle(io);
  EXPECT_EQ(states(), (states_t{"connecting", "open", "closed"}));
  EXPECT_EQ(last(event_kind::close)->detail->code, 1006);
}

}  // namespace
}  // namespace rws
