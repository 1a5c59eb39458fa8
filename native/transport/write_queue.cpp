#include "transport/write_queue.hpp"

namespace rws {

void write_queue::tag_last(std::uint64_t tag) {
  if (tag) tags_.emplace_back(queued_total_ + pending_.size() + pending_shared_bytes_, tag);
}

void write_queue::append_shared(std::string_view bytes, std::shared_ptr<const void> owner) {
  if (bytes.empty()) return;
  pending_shared_.push_back({pending_.size(), bytes, std::move(owner)});
  pending_shared_bytes_ += bytes.size();
}

void write_queue::prepend(std::string_view bytes, std::uint64_t tag) {
  if (bytes.empty()) return;
  pending_.insert(0, bytes);
  for (auto& piece : pending_shared_) piece.offset += bytes.size();
  // With no write in flight every tag not yet reported lies in what is pending: it moves back.
  for (std::size_t i = tags_head_; i < tags_.size(); ++i) tags_[i].first += bytes.size();
  if (tag) {
    tags_.insert(tags_.begin() + static_cast<std::ptrdiff_t>(tags_head_), {queued_total_ + bytes.size(), tag});
  }
}

const std::vector<std::string_view>& write_queue::begin_write() {
  // Everything queued since the last write goes out in this one; the old in-flight buffer,
  // emptied but keeping its capacity, collects what comes next.
  std::swap(pending_, in_flight_);
  pending_.clear();
  std::swap(pending_shared_, in_flight_shared_);
  in_flight_bytes_ = in_flight_.size() + pending_shared_bytes_;
  pending_shared_bytes_ = 0;
  queued_total_ += in_flight_bytes_;
  writing_ = true;
  // The frame bytes, cut where a shared payload goes in between.
  write_buffers_.clear();
  const std::string_view frames(in_flight_);
  std::size_t at = 0;
  for (const auto& piece : in_flight_shared_) {
    if (piece.offset > at) write_buffers_.push_back(frames.substr(at, piece.offset - at));
    write_buffers_.push_back(piece.bytes);
    at = piece.offset;
  }
  if (at < frames.size()) write_buffers_.push_back(frames.substr(at));
  return write_buffers_;
}

std::uint64_t write_queue::end_write(std::size_t n) {
  writing_ = false;
  in_flight_.clear();
  in_flight_shared_.clear();
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
  in_flight_shared_.clear();
}

bool write_queue::buffers_small() const {
  return pending_.capacity() <= keep_bytes && in_flight_.capacity() <= keep_bytes &&
         pending_shared_.capacity() <= keep_entries && in_flight_shared_.capacity() <= keep_entries &&
         write_buffers_.capacity() <= keep_entries && tags_.capacity() <= keep_entries;
}

}  // namespace rws
