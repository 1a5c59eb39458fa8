#pragma once
// permessage-deflate (RFC 7692) on system zlib: the offer we send, the check of the server's
// answer, and the per-connection compressor/decompressor pair. No Asio, no Node.
//
// Inflation is bounded by the caller's limit, so a few hundred KB that would inflate to gigabytes cost at most the limit.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rws {

// The Sec-WebSocket-Extensions value the client offers:
// "permessage-deflate; client_max_window_bits" (we accept any client window the server picks).
std::string permessage_deflate_offer();

struct deflate_params {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

// Parses the server's Sec-WebSocket-Extensions response to our offer. Call it only when the
// response carries the header (no header = no compression). Returns nullopt and a short reason in
// `error` for anything we did not offer or cannot honour: another extension, more than one
// extension, unknown or duplicate parameters, a value on a flag, a missing or out-of-range window
// size (8..15). RFC 7692 §5: the client must then fail the connection.
std::optional<deflate_params> parse_deflate_response(std::string_view header_value, std::string& error);

// The allocator zlib uses for both streams; the default (all null) is zlib's own, malloc. Tests
// pass one that fails, to check what happens when zlib runs out of memory.
struct zlib_allocator {
  void* (*alloc)(void* opaque, unsigned items, unsigned size) = nullptr;
  void (*release)(void* opaque, void* address) = nullptr;
  void* opaque = nullptr;
};

// One per connection attempt; io thread only. The zlib streams are created on first use, so an
// idle connection that negotiated compression costs nothing until it sends or receives a
// compressed message (a deflate stream is ~256 KB at windowBits 15).
class permessage_deflate {
 public:
  explicit permessage_deflate(const deflate_params& params, const zlib_allocator& allocator = {});
  ~permessage_deflate();
  permessage_deflate(const permessage_deflate&) = delete;
  permessage_deflate& operator=(const permessage_deflate&) = delete;

  // Inflates one message's payload (the frames' data joined, without the 00 00 ff ff tail, which
  // this adds per RFC 7692 §7.2.2) and appends the result to `out`. Stops as soon as the output of
  // this call would exceed max_size: returns false with too_big set and `out` left as it was.
  // Returns false with too_big clear for corrupt data (caller closes with 1007). After a failure
  // the connection must be closed; the stream is reset but its context is gone.
  bool inflate(std::string_view in, std::uint64_t max_size, std::string& out, bool& too_big);

  // Compresses one message and appends it to `out` without the trailing 00 00 ff ff (RFC 7692
  // §7.2.1); send it with RSV1 set. Returns false only if zlib fails (out of memory), with `out`
  // left as it was: the message must then not be sent (nor reported as written) at all.
  bool deflate(std::string_view in, std::string& out);

 private:
  struct streams;
  deflate_params params_;
  zlib_allocator allocator_;
  std::unique_ptr<streams> streams_;
};

}  // namespace rws
