#include "resume/id_window.hpp"

#include <optional>
#include <utility>

namespace rws {

id_window::id_window(std::size_t capacity) : capacity_(capacity) {}

bool id_window::contains(std::string_view id) const { return index_.count(id) != 0; }

void id_window::insert(std::string id) {
  if (capacity_ == 0 || contains(id)) return;
  if (order_.size() >= capacity_) {
    // Unindex before destroying the string the view points into.
    index_.erase(std::string_view(order_.front()));
    order_.pop_front();
  }
  order_.push_back(std::move(id));
  index_.insert(std::string_view(order_.back()));
}

void id_window::clear() {
  index_.clear();
  order_.clear();
}

namespace {

// Up to 19 digits always fits in 64 bits (10^19 - 1 < 2^64), so no overflow checks are needed;
// longer ids are not treated as numbers at all.
std::optional<std::uint64_t> parse_small_decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (const char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return value;
}

}  // namespace

std::uint64_t numeric_id_gap(std::string_view previous, std::string_view next) {
  const std::optional<std::uint64_t> before = parse_small_decimal(previous);
  const std::optional<std::uint64_t> after = parse_small_decimal(next);
  if (!before || !after || *after <= *before) return 0;
  // *before < 10^19, so *before + 1 cannot wrap; the gap is 0 for consecutive ids.
  return *after - *before - 1;
}

}  // namespace rws
