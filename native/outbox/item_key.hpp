#pragma once
// An outbox item's idempotency key, in one pointer: most items keep none (outbox::keeps_keys),
// and the queue may hold a million of them after a reopen, where a std::string's 32 bytes were
// a quarter of each item (std::deque's 512-byte blocks then held four items instead of six).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace rws {

class item_key {
 public:
  // One block: the length, then the bytes (keys are at most 64 KiB - 1, see outbox_record.hpp).
  void assign(std::string_view key) {
    if (key.empty()) {
      text_.reset();
      return;
    }
    const auto size = static_cast<std::uint32_t>(key.size());
    text_ = std::make_unique_for_overwrite<char[]>(sizeof size + key.size());
    std::memcpy(text_.get(), &size, sizeof size);
    std::memcpy(text_.get() + sizeof size, key.data(), key.size());
  }

  bool empty() const { return text_ == nullptr; }

  std::string_view view() const {
    if (!text_) return {};
    std::uint32_t size = 0;
    std::memcpy(&size, text_.get(), sizeof size);
    return {text_.get() + sizeof size, size};
  }

 private:
  std::unique_ptr<char[]> text_;
};

}  // namespace rws
