// One connection attempt over a fake transport (no sockets): the upgrade, frames in and out,
// coalesced writes and their tags, the close handshake, pings, violations, backpressure, and the
// reporting rule of connection.hpp (a report is the last thing a step does; the handler may call
// back in without re-entering a step).
#include "transport/connection.hpp"
#include "transport/read_scratch.hpp"

#include <gtest/gtest.h>

#include "tests/transport/fake_transport.hpp"

namespace rws {
namespace {

using namespace rws::test;

struct recorder : connection_handler {
  std::vector<std::string> log;  // "open", "in:<payload>", "written:<tag>", "closed:<code>"
  std::vector<inbound_event> inbound;
  std::optional<close_info> closed;
  std::vector<std::uint64_t> written;
  bool keep_reading = true;
  bool inside_call = false;  // set by a test around a call into the connection
  bool reported_inside_call = false;
  std::function<void()> on_written_do, on_inbound_do;

  void on_open(const open_info&) override { note("open"); }
  bool on_inbound(std::vector<inbound_event>& events) override {
    for (auto& e : events) {
      note("in:" + e.payload);
      inbound.push_back(std::move(e));
    }
    if (on_inbound_do) on_inbound_do();
    return keep_reading;
  }
  void on_written(std::uint64_t tag) override {
    note("written:" + std::to_string(tag));
    written.push_back(tag);
    if (on_written_do) on_written_do();
  }
  void on_closed(close_info info) override {
    note("closed:" + std::to_string(info.code));
    closed = std::move(info);
  }
  void note(std::string what) {
    if (inside_call) reported_inside_call = true;
    log.push_back(std::move(what));
  }
};

class ConnectionTest : public ::testing::Test {
 protected:
  asio::io_context io;
  std::shared_ptr<fake_peer> peer = std::make_shared<fake_peer>(io);
  fake_server server{peer};
  recorder handler;
  std::shared_ptr<connection> conn;

  connection_params params(std::uint64_t max_message_size = 1 << 20) {
    connection_params p;
    p.url = make_ws_url(false, "example.test", 0, "/feed", "");
    p.target = p.url.target;
    p.max_message_size = max_message_size;
    p.connect_timeout_ms = 2000;
    return p;
  }
  void start(connection_params p) {
    conn = std::make_shared<connection>(io, std::move(p), &handler, std::make_unique<fake_transport>(io, peer));
    conn->start_connected();
    settle(io);
  }
  void open() {
    start(params());
    ASSERT_TRUE(server.has_request());
    server.answer();
    settle(io);
    ASSERT_EQ(handler.log, std::vector<std::string>{"open"});
    ASSERT_TRUE(conn->is_open());
  }
  void TearDown() override {
    if (conn) conn->abort();
    settle(io);
  }
  // Starts over with a fresh peer and handler, for a test whose body runs once per read mode
  // (async_read_some, as a transport that cannot read on readiness; readiness, as the library's
  // plain-TCP and TLS transports).
  void restart(bool readiness) {
    TearDown();
    peer = std::make_shared<fake_peer>(io);
    server = fake_server{peer};
    handler = recorder{};
    peer->readiness = readiness;
  }
  // Writes `payload` on the open connection, which then fails before the outbox hears back.
  void send_then_lose_connection(const shared_payload& payload) {
    conn->send_shared(true, payload, 1);
    conn->flush();
    settle(io);
    conn->abort();
    settle(io);
  }
};

TEST_F(ConnectionTest, UpgradeAnsweredOpens) {
  start(params());
  ASSERT_TRUE(server.has_request());
  EXPECT_EQ(server.request().rfind("GET /feed HTTP/1.1\r\n", 0), 0u) << server.request();
  EXPECT_TRUE(handler.log.empty());
  server.answer();
  settle(io);
  EXPECT_EQ(handler.log, std::vector<std::string>{"open"});
  EXPECT_TRUE(conn->is_open());
}

TEST_F(ConnectionTest, FramesInTheSameSegmentAsThe101AreDelivered) {
  start(params());
  server.answer(101, {}, server_frame(opcode::text, "early"));
  settle(io);
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:early"}));
}

TEST_F(ConnectionTest, RefusedUpgradeEndsTheAttemptWithStatusAndRetryAfter) {
  start(params());
  server.answer(503, "Retry-After: 7\r\n");
  settle(io);
  ASSERT_TRUE(handler.closed);
  EXPECT_FALSE(handler.closed->opened);
  EXPECT_EQ(handler.closed->error.code, failure_code::handshake_rejected);
  EXPECT_EQ(handler.closed->error.status, 503);
  EXPECT_EQ(handler.closed->error.retry_after_ms, 7000);
}

TEST_F(ConnectionTest, TlsRefusalIsReportedWithTheReason) {
  peer->secure_error = asio::error::access_denied;
  peer->verify_failure = "certificate has expired";
  start(params());
  ASSERT_TRUE(handler.closed);
  EXPECT_EQ(handler.closed->error.code, failure_code::tls_verify);
  EXPECT_EQ(handler.closed->error.reason, "certificate has expired");
  EXPECT_FALSE(server.has_request());  // nothing was sent in the clear
}

TEST_F(ConnectionTest, NoAnswerWithinConnectTimeoutFails) {
  auto p = params();
  p.connect_timeout_ms = 30;
  start(std::move(p));
  ASSERT_TRUE(run_until(io, [&] { return handler.closed.has_value(); }));
  EXPECT_EQ(handler.closed->error.code, failure_code::connect_timeout);
}

TEST_F(ConnectionTest, FramesInBecomeMessagesInOrder) {
  open();
  peer->send(server_frame(opcode::text, "one") + server_frame(opcode::binary, "two") +
             server_frame(opcode::text, "th", false) + server_frame(opcode::continuation, "ree"));
  settle(io);
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:one", "in:two", "in:three"}));
  EXPECT_EQ(handler.inbound[1].type, inbound_event::kind::binary);
}

TEST_F(ConnectionTest, PingIsAnsweredWithThePayload) {
  open();
  peer->send(server_frame(opcode::ping, "are you there"));
  settle(io);
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].op, opcode::pong);
  EXPECT_EQ(frames[0].payload, "are you there");
  EXPECT_EQ(handler.log, std::vector<std::string>{"open"});  // pings are not reported
}

TEST_F(ConnectionTest, WritesAreCoalescedWhileOneIsInFlightAndTagsReportTheNewest) {
  open();
  std::size_t writes_before = peer->writes;
  peer->hold_writes = true;
  conn->send(false, "a", 1);
  conn->flush();
  EXPECT_EQ(peer->writes, writes_before + 1);
  conn->send(false, "b", 2);
  conn->send(true, "c", 0);  // untagged
  conn->send(false, "d", 3);
  conn->flush();
  EXPECT_EQ(peer->writes, writes_before + 1);  // one write in flight: the rest waits
  EXPECT_GT(conn->buffered_bytes(), 0u);
  peer->release_writes();
  settle(io);
  EXPECT_EQ(peer->writes, writes_before + 2);  // b, c, d left together
  EXPECT_EQ(handler.written, std::vector<std::uint64_t>{1});
  peer->release_writes();
  settle(io);
  EXPECT_EQ(handler.written, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(conn->buffered_bytes(), 0u);
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[2].op, opcode::binary);
  EXPECT_EQ(frames[3].payload, "d");
}

TEST_F(ConnectionTest, AnIdleConnectionHoldsNoWriteQueueAndNoParserState) {
  open();
  EXPECT_FALSE(conn->holds_write_queue());
  EXPECT_FALSE(conn->holds_parser());
  conn->ping("hb");
  settle(io);
  EXPECT_FALSE(conn->holds_write_queue());  // the ping's write left it empty and small
  peer->send(server_frame(opcode::text, "par", false));
  settle(io);
  EXPECT_TRUE(conn->holds_parser());  // a message waits for its continuation
  peer->send(server_frame(opcode::continuation, "t"));
  settle(io);
  EXPECT_FALSE(conn->holds_parser());
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:part"}));

  const std::string burst(1 << 20, 'x');
  peer->hold_writes = true;
  conn->send(true, burst, 1);
  conn->flush();
  conn->release_idle_buffers();  // a write in flight: kept
  EXPECT_TRUE(conn->holds_write_queue());
  peer->release_writes();
  settle(io);
  EXPECT_EQ(handler.written, std::vector<std::uint64_t>{1});
  EXPECT_TRUE(conn->holds_write_queue());  // grown by the burst: kept for a sender that goes on
  conn->release_idle_buffers();
  EXPECT_FALSE(conn->holds_write_queue());
  conn->send(false, "after", 2);  // made again by the next frame
  conn->flush();
  peer->release_writes();
  settle(io);
  EXPECT_EQ(handler.written, (std::vector<std::uint64_t>{1, 2}));
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].op, opcode::ping);
  EXPECT_EQ(frames[1].payload, burst);
  EXPECT_EQ(frames[2].payload, "after");
  EXPECT_FALSE(conn->holds_write_queue());
}

// A message the outbox keeps, large enough to be shared with the write (not copied into it).
std::string large_payload() {
  std::string bytes(shared_payload::share_min + 1000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 + 7);
  return bytes;
}

bool wrote_from(const fake_peer& peer, const void* start) {
  const auto& starts = peer.write_buffer_starts;
  return std::find(starts.begin(), starts.end(), start) != starts.end();
}

TEST_F(ConnectionTest, ALargeOutboxPayloadIsWrittenFromItsOwnMemoryMaskedInPlace) {
  open();
  const std::string original = large_payload();
  shared_payload payload(original);
  const auto& block = payload.shared();
  ASSERT_NE(block, nullptr);
  peer->hold_writes = true;
  conn->send(false, "before", 1);
  conn->send_shared(true, payload, 2);
  conn->send(false, "after", 3);
  conn->flush();
  // While the write is in flight the outbox's bytes are the wire's: masked, and not copied.
  EXPECT_TRUE(block->masked);
  EXPECT_NE(block->bytes, original);
  EXPECT_TRUE(wrote_from(*peer, block->bytes.data()));
  EXPECT_EQ(conn->buffered_bytes(), client_frame_size(6) + client_frame_size(original.size()) + client_frame_size(5));
  peer->release_writes();
  settle(io);
  EXPECT_EQ(handler.written, std::vector<std::uint64_t>{3});
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload, "before");
  EXPECT_EQ(frames[1].op, opcode::binary);
  EXPECT_TRUE(frames[1].payload == original);
  EXPECT_EQ(frames[2].payload, "after");
}

// What the binding hands over for an in-memory outbox: a large binary masked as it was copied.
shared_payload masked_by_binding(const std::string& original, std::uint32_t key) {
  std::string bytes = original;
  remask_in_place(bytes.data(), bytes.size(), 0, key);
  return shared_payload(std::move(bytes), key);
}

TEST_F(ConnectionTest, APayloadMaskedByTheBindingGoesOutWithItsOwnKeyUntouched) {
  open();
  const std::string original = large_payload();
  const std::uint32_t key = 0x5a17c0de;
  shared_payload payload = masked_by_binding(original, key);
  const std::string as_handed_over = payload.shared()->bytes;
  peer->hold_writes = true;
  conn->send_shared(true, payload, 1);
  conn->flush();
  EXPECT_TRUE(wrote_from(*peer, payload.shared()->bytes.data()));
  EXPECT_TRUE(payload.shared()->bytes == as_handed_over);  // no pass over the bytes here
  peer->release_writes();
  settle(io);
  // The frame header carries the binding's key (after 2 + 2 length bytes: 126 B to 64 KiB).
  ASSERT_LE(original.size(), 0xffffu);
  std::uint32_t wire_key = 0;
  for (int i = 0; i < 4; ++i) wire_key = (wire_key << 8) | static_cast<unsigned char>(peer->from_client[server.request_bytes + 4 + i]);
  EXPECT_EQ(wire_key, key);
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload == original);
}

// The outbox sends a message again on the next connection (the first failed before confirming
// it): opens that connection over a fake peer of its own and sends `payload` there.
struct next_connection {
  std::shared_ptr<fake_peer> peer;
  fake_server server;
  recorder handler;
  std::shared_ptr<connection> conn;

  next_connection(asio::io_context& io, connection_params params, bool gathers)
      : peer(std::make_shared<fake_peer>(io)), server{peer} {
    peer->gathers = gathers;
    conn = std::make_shared<connection>(io, std::move(params), &handler, std::make_unique<fake_transport>(io, peer));
    conn->start_connected();
    settle(io);
    server.answer();
    settle(io);
  }
  void resend(asio::io_context& io, const shared_payload& payload) {
    ASSERT_TRUE(conn->is_open());
    conn->send_shared(true, payload, 1);
    conn->flush();
    settle(io);
  }
  ~next_connection() { conn->abort(); }
};

TEST_F(ConnectionTest, AResendOnALaterConnectionUnmasksAndMasksAgainWithAFreshKey) {
  open();
  const std::string original = large_payload();
  shared_payload payload(original);
  send_then_lose_connection(payload);
  const std::string first_wire = peer->from_client;

  next_connection next(io, params(), /*gathers=*/true);
  next.resend(io, payload);
  auto frames = next.server.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload == original);
  EXPECT_EQ(next.handler.written, std::vector<std::uint64_t>{1});
  // A fresh key: the masked bytes differ from the first connection's.
  EXPECT_EQ(first_wire.find(payload.shared()->bytes.substr(0, 64)), std::string::npos);
}

TEST_F(ConnectionTest, AResendOfAPayloadMaskedByTheBindingGetsAFreshKey) {
  open();
  const std::string original = large_payload();
  const std::uint32_t key = 0x5a17c0de;
  shared_payload payload = masked_by_binding(original, key);
  send_then_lose_connection(payload);

  next_connection next(io, params(), /*gathers=*/true);
  next.resend(io, payload);
  EXPECT_NE(payload.shared()->mask, key);  // the binding's key was on the wire once already
  auto frames = next.server.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload == original);
}

TEST_F(ConnectionTest, AResendOverTlsOfAPayloadMaskedForAnEarlierConnectionGoesOutPlainAndCopied) {
  open();
  const std::string original = large_payload();
  shared_payload payload(original);
  send_then_lose_connection(payload);
  ASSERT_TRUE(payload.shared()->masked);

  next_connection next(io, params(), /*gathers=*/false);  // the next URL is wss://
  next.resend(io, payload);
  EXPECT_FALSE(payload.shared()->masked);
  EXPECT_TRUE(payload.shared()->bytes == original);
  auto frames = next.server.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload == original);
}

TEST_F(ConnectionTest, OverTlsALargePayloadIsCopiedIntoTheFrameAndLeftPlain) {
  peer->gathers = false;  // Asio's SSL stream writes one buffer per record
  open();
  const std::string original = large_payload();
  shared_payload payload(original);
  conn->send_shared(true, payload, 1);
  conn->flush();
  settle(io);
  EXPECT_FALSE(payload.shared()->masked);
  EXPECT_TRUE(payload.shared()->bytes == original);
  EXPECT_FALSE(wrote_from(*peer, payload.shared()->bytes.data()));
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload == original);
}

TEST_F(ConnectionTest, HandlerSendingFromOnWrittenDoesNotReenterTheWrite) {
  // The session pumps the outbox from on_written. The report is the last thing on_write does,
  // so the send lands in a consistent queue and goes out in the next write, in order.
  open();
  int resent = 0;
  handler.on_written_do = [&] {
    if (resent < 3) {
      ++resent;
      conn->send(false, "more" + std::to_string(resent), 10 + resent);
      conn->flush();
    }
  };
  conn->send(false, "first", 10);
  conn->flush();
  settle(io);
  EXPECT_EQ(handler.written, (std::vector<std::uint64_t>{10, 11, 12, 13}));
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[3].payload, "more3");
}

TEST_F(ConnectionTest, ClientCloseHandshake) {
  open();
  handler.inside_call = true;
  conn->close(1000, "bye");
  handler.inside_call = false;
  settle(io);
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].op, opcode::close);
  EXPECT_EQ(frames[0].payload, close_payload(1000, "bye"));
  EXPECT_FALSE(handler.closed);  // waits for the server's answer
  peer->send(server_close(1000));
  settle(io);
  ASSERT_TRUE(handler.closed);
  EXPECT_EQ(handler.closed->code, 1000);
  EXPECT_TRUE(handler.closed->was_clean);
  EXPECT_FALSE(handler.closed->error);
  EXPECT_FALSE(handler.reported_inside_call);
  EXPECT_TRUE(peer->closed);
}

TEST_F(ConnectionTest, AfterCloseDataStillArrivingIsReadUntilTheServersCloseFrame) {
  // The server was streaming when we closed: its messages keep coming in reads of their own
  // before its close frame, and reading must go on until that frame (not stop after the first
  // read and wait out the close deadline).
  for (bool readiness : {false, true}) {
    SCOPED_TRACE(readiness ? "reading on readiness" : "async_read_some");
    restart(readiness);
    open();
    conn->close(1000, "bye");
    settle(io);
    peer->send(server_frame(opcode::text, "still streaming"));
    settle(io);
    peer->send(server_frame(opcode::text, "one more"));
    settle(io);
    EXPECT_FALSE(handler.closed);
    peer->send(server_close(1000));
    settle(io);
    ASSERT_TRUE(handler.closed);
    EXPECT_TRUE(handler.closed->was_clean);
    EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:still streaming", "in:one more", "closed:1000"}));
  }
}

TEST_F(ConnectionTest, ServerCloseIsEchoedAfterTheDataBeforeIt) {
  open();
  peer->send(server_frame(opcode::text, "last words") + server_close(1001, "going away") +
             server_frame(opcode::text, "after close"));
  settle(io);
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:last words", "closed:1001"}));
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].op, opcode::close);
  EXPECT_EQ(frames[0].payload, close_payload(1001, {}));
  EXPECT_TRUE(handler.closed->was_clean);
  EXPECT_EQ(handler.closed->reason, "going away");
}

TEST_F(ConnectionTest, ViolationClosesWith1002AfterDeliveringWhatCameBefore) {
  open();
  peer->send(server_frame(opcode::text, "fine") + server_frame(opcode::text, "rsv", true, 0x4));
  settle(io);
  auto frames = server.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].op, opcode::close);
  EXPECT_EQ(frames[0].payload.substr(0, 2), close_payload(1002, {}));
  ASSERT_TRUE(handler.closed);
  EXPECT_EQ(handler.closed->code, 1002);
  EXPECT_EQ(handler.closed->error.code, failure_code::protocol);
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:fine", "closed:1002"}));
}

TEST_F(ConnectionTest, InvalidUtf8ClosesWith1007AndOversizeWith1009) {
  open();
  peer->send(server_frame(opcode::text, "\xff\xfe"));
  settle(io);
  ASSERT_TRUE(handler.closed);
  EXPECT_EQ(handler.closed->code, 1007);

  conn->abort();
  handler = recorder{};
  peer = std::make_shared<fake_peer>(io);
  server = fake_server{peer};
  start(params(16));
  server.answer();
  settle(io);
  peer->send(server_frame(opcode::binary, std::string(17, 'x')));
  settle(io);
  ASSERT_TRUE(handler.closed);
  EXPECT_EQ(handler.closed->code, 1009);
  EXPECT_EQ(handler.closed->error.code, failure_code::message_too_large);
}

TEST_F(ConnectionTest, EofWithoutCloseFrameIs1006ConnectionLost) {
  open();
  peer->end();
  settle(io);
  ASSERT_TRUE(handler.closed);
  EXPECT_EQ(handler.closed->code, 1006);
  EXPECT_FALSE(handler.closed->was_clean);
  EXPECT_EQ(handler.closed->error.code, failure_code::connection_lost);
}

TEST_F(ConnectionTest, FailSendsTheCodeAndReportsTheErrorInALaterStep) {
  open();
  failure f;
  f.code = failure_code::heartbeat_timeout;
  handler.inside_call = true;
  conn->fail(4000, f);
  handler.inside_call = false;
  EXPECT_FALSE(handler.closed);
  settle(io);
  ASSERT_TRUE(handler.closed);
  EXPECT_EQ(handler.closed->code, 4000);
  EXPECT_EQ(handler.closed->error.code, failure_code::heartbeat_timeout);
  EXPECT_FALSE(handler.reported_inside_call);
  EXPECT_EQ(server.frames().at(0).payload, close_payload(4000, {}));
}

TEST_F(ConnectionTest, CloseWhileConnectingReportsInALaterStep) {
  start(params());
  handler.inside_call = true;
  conn->close(1000, "never mind");
  handler.inside_call = false;
  EXPECT_FALSE(handler.closed);
  settle(io);
  ASSERT_TRUE(handler.closed);
  EXPECT_FALSE(handler.closed->opened);
  EXPECT_FALSE(handler.reported_inside_call);
  server.answer();  // too late: the attempt is over
  settle(io);
  EXPECT_EQ(handler.log, std::vector<std::string>{"closed:1000"});
}

TEST_F(ConnectionTest, AbortFromInsideAReportEndsEverythingQuietly) {
  open();
  handler.on_inbound_do = [&] { conn->abort(); };
  peer->send(server_frame(opcode::text, "a") + server_close(1000));
  settle(io);
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:a"}));
  EXPECT_TRUE(peer->closed);
}

TEST_F(ConnectionTest, PausedReadingReadsNothingMoreUntilResumed) {
  // Backpressure: once on_inbound answers false no read is armed, so nothing more is read (the
  // memory bound while JavaScript is slow depends on it).
  for (bool readiness : {false, true}) {
    SCOPED_TRACE(readiness ? "reading on readiness" : "async_read_some");
    restart(readiness);
    open();
    handler.keep_reading = false;
    peer->send(server_frame(opcode::text, "1"));
    settle(io);
    peer->send(server_frame(opcode::text, "2"));
    settle(io);
    EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:1"}));
    EXPECT_FALSE(peer->read_handler);  // no read armed
    EXPECT_FALSE(peer->wait_handler);  // nor a wait for readability
    handler.keep_reading = true;
    conn->resume_reading();
    settle(io);
    EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:1", "in:2"}));
  }
}

TEST_F(ConnectionTest, TheReadBufferGrowsForABurstAndShrinksBackWhenReadsAreSmallAgain) {
  open();
  peer->send(server_frame(opcode::binary, std::string(600 * 1024, 'x')));
  settle(io);
  ASSERT_EQ(handler.log.size(), 2u);                 // open, the burst's one message
  EXPECT_EQ(peer->read_buffer.value().size(), 256u * 1024);  // grew while reads filled it
  for (int i = 0; i < 3; ++i) {
    peer->send(server_frame(opcode::text, "small"));
    settle(io);
  }
  EXPECT_EQ(peer->read_buffer.value().size(), 256u * 1024);  // a few small reads: kept
  peer->send(server_frame(opcode::text, "small"));
  settle(io);
  EXPECT_EQ(peer->read_buffer.value().size(), 1024u);  // four in a row: back to the idle size
  EXPECT_EQ(handler.log.size(), 6u);
}

// Plain TCP reads on readiness into the io thread's shared buffer (read_scratch.hpp).

TEST_F(ConnectionTest, OnReadinessAnOpenConnectionKeepsNoReadOfItsOwnPending) {
  peer->readiness = true;
  open();
  // Never an async_read_some holding a buffer, not even for the handshake's answer: that read
  // waited for readiness and went to the shared buffer too.
  EXPECT_FALSE(peer->read_buffer.has_value());
  EXPECT_EQ(peer->reads_now, 1u);
  EXPECT_FALSE(peer->read_handler);
  EXPECT_TRUE(peer->wait_handler);   // the upgrade's read emptied the socket: wait
  peer->send(server_frame(opcode::text, "one") + server_frame(opcode::text, "two"));
  settle(io);
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:one", "in:two"}));
  EXPECT_TRUE(peer->wait_handler);
}

TEST_F(ConnectionTest, OnReadinessABurstLargerThanTheSharedBufferIsReadInStepsInOrder) {
  peer->readiness = true;
  open();
  const std::string big(read_scratch::size + 1000, 'b');
  const std::size_t waits_at_open = peer->waits, reads_at_open = peer->reads_now;  // the handshake's
  ASSERT_TRUE(peer->wait_handler);
  peer->send(server_frame(opcode::binary, big) + server_frame(opcode::text, "after"));
  settle(io);
  ASSERT_EQ(handler.inbound.size(), 2u);
  EXPECT_TRUE(handler.inbound[0].payload == big);
  EXPECT_EQ(handler.inbound[1].payload, "after");
  // A full read is followed by another read without waiting; the short one ends the burst.
  EXPECT_EQ(peer->reads_now - reads_at_open, 2u);
  EXPECT_EQ(peer->waits - waits_at_open, 1u);
  EXPECT_TRUE(peer->wait_handler);
}

TEST_F(ConnectionTest, OnReadinessAWakeUpWithNothingToReadWaitsAgain) {
  peer->readiness = true;
  open();
  peer->wake_without_bytes();
  settle(io);
  EXPECT_TRUE(peer->wait_handler);
  EXPECT_FALSE(handler.closed);
  peer->send(server_frame(opcode::text, "late"));
  settle(io);
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:late"}));
}

TEST_F(ConnectionTest, OnReadinessTheHandshakeAnswerIsReadInPiecesAfterAWakeUpForNothing) {
  peer->readiness = true;
  start(params());
  ASSERT_TRUE(server.has_request());
  peer->wake_without_bytes();  // readable, but nothing there: wait again
  settle(io);
  ASSERT_TRUE(peer->wait_handler);
  server.answer(101, {}, server_frame(opcode::text, "early"));
  std::string rest = std::move(peer->to_client);
  peer->to_client = rest.substr(0, 20);  // the first read gets part of the status line
  rest.erase(0, 20);
  settle(io);
  EXPECT_TRUE(handler.log.empty());
  ASSERT_TRUE(peer->wait_handler);
  peer->send(rest);
  settle(io);
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:early"}));
  EXPECT_FALSE(peer->read_buffer.has_value());  // no buffer of its own at any point
}

TEST_F(ConnectionTest, OnReadinessTheServerEndingTheStreamDuringTheHandshakeFailsTheAttempt) {
  peer->readiness = true;
  start(params());
  ASSERT_TRUE(server.has_request());
  peer->end();
  settle(io);
  ASSERT_TRUE(handler.closed);
  EXPECT_FALSE(handler.closed->opened);
  EXPECT_EQ(handler.closed->error.code, failure_code::connection_lost);
  EXPECT_NE(handler.closed->error.message.find("during the upgrade"), std::string::npos) << handler.closed->error.message;
}

TEST_F(ConnectionTest, OnReadinessFramesWithThe101AndTheEndOfTheStreamAreHandled) {
  peer->readiness = true;
  start(params());
  server.answer(101, {}, server_frame(opcode::text, "early"));
  settle(io);
  EXPECT_EQ(handler.log, (std::vector<std::string>{"open", "in:early"}));
  peer->end();
  settle(io);
  ASSERT_TRUE(handler.closed);
  EXPECT_EQ(handler.closed->code, 1006);
  EXPECT_EQ(handler.closed->error.code, failure_code::connection_lost);
}

}  // namespace
}  // namespace rws
