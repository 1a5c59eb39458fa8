#include "transport/write_queue.hpp"

namespace rws {

void write_queue::tag_last(std::uint64_t tag) {
  if (tag) tags_.emplace_back(queued_total_ + pending_.size(), tag);
}

std::string_view write_queue::begin_write() {
  // Everything queued since the last write goes out in this one; the old in-flight buffer,
  // emptied but keeping its capacity, collects what comes next.
  std::swap(pending_, in_flight_);
  pending_.clear();
  queued_total_ += in_flight_.size();
  writing_ = true;
  return in_flight_;
}

std::uint64_t write_queue::end_write(std::size_t n) {
  writing_ = false;
  in_flight_.clear();
  written_total_ += n;
  std::uint64_t last_tag = 0;
  while (tags_head_ < tags_.size() && tags_[tags_head_].first <= written_total_) last_tag = tags_[tags_head_++].second;
  if (tags_head_ == tags_.size()) {
    tags_.clear();
    tags_head_ = 0;
  }
  return last_tag;
}

void write_queue::fail_write() {
  writing_ = false;
  in_flight_.clear();
}

}  // namespace rws
