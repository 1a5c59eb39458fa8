// Fuzzes rws::permessage_deflate::inflate (protocol/permessage_deflate.hpp): compressed message
// payloads from the network, with the limit taken from the input. Input layout:
//   byte 0      bits 0-2: server_max_window_bits - 8 (8..15); bit 3: server_no_context_takeover;
//               bit 4: also deflate+inflate round trip of the payload bytes
//   bytes 1-4   max_size (u32 LE; small values are the interesting ones)
//   byte 5      where to split the payload into two messages (0: one message), modulo size + 1
//   rest        the payload (raw deflate data without the 00 00 ff ff tail)
// Invariants: a successful inflate never appends more than max_size bytes; a failed one leaves
// `out` as it was; round trip: inflate(deflate(x)) == x for a limit >= x.size().
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "protocol/permessage_deflate.hpp"

namespace {

void inflate_checked(rws::permessage_deflate& pmd, std::string_view payload, std::uint64_t limit) {
  std::string out = "prefix";  // inflate appends: what was there must stay as it was
  bool too_big = false;
  const bool ok = pmd.inflate(payload, limit, out, too_big);
  FUZZ_CHECK(out.compare(0, 6, "prefix") == 0, "inflate changed bytes it did not append");
  if (ok) {
    FUZZ_CHECK(out.size() - 6 <= limit, "inflate returned ok with more than the limit");
    FUZZ_CHECK(!too_big, "inflate returned ok with too_big set");
  } else {
    FUZZ_CHECK(out.size() == 6, "a failed inflate left output behind");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rws::fuzz::input_reader in(data, size);
  const std::uint8_t flags = in.u8();
  const std::uint64_t limit = in.u32();
  const std::uint8_t split_byte = in.u8();
  const std::string_view payload = in.rest();

  rws::deflate_params params;
  params.server_max_window_bits = 8 + (flags & 7);
  params.server_no_context_takeover = (flags & 8) != 0;
  params.client_max_window_bits = params.server_max_window_bits;

  {
    rws::permessage_deflate pmd(params);
    const std::size_t split = split_byte % (payload.size() + 1);
    if (split == 0) {
      inflate_checked(pmd, payload, limit);
    } else {
      // Two messages on one stream: the second may refer back into the first's window.
      inflate_checked(pmd, payload.substr(0, split), limit);
      inflate_checked(pmd, payload.substr(split), limit);
    }
  }

  if ((flags & 16) != 0) {
    // What we compress (client side, client_max_window_bits) must come back unchanged through a
    // decompressor with the same window (as the server's would be).
    rws::permessage_deflate sender(params);
    rws::permessage_deflate receiver(params);
    std::string compressed;
    FUZZ_CHECK(sender.deflate(payload, compressed), "deflate failed");
    std::string round;
    bool too_big = false;
    FUZZ_CHECK(receiver.inflate(compressed, payload.size(), round, too_big), "inflate of our own deflate failed");
    FUZZ_CHECK(round == payload, "deflate/inflate round trip changed the data");
  }
  return 0;
}
