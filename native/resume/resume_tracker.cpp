#include "resume/resume_tracker.hpp"

#include "resume/json_field.hpp"

namespace rws {

resume_tracker::resume_tracker(std::shared_ptr<const resume_config> config, store_fn store)
    : config_(std::move(config)),
      store_(std::move(store)),
      seen_(config_->enabled ? std::make_unique<id_window>(config_->window) : nullptr) {}

bool resume_tracker::restore(std::string_view id_token) {
  if (id_token.empty()) return false;
  auto id = find_json_field("{\"id\":" + std::string(id_token) + "}", {"id"});
  if (!id) return false;
  last_id_ = id->text;
  last_id_is_string_ = id->type == json_scalar::kind::string;
  delivered_id_ = last_id_;
  delivered_id_is_string_ = last_id_is_string_;
  return true;
}

std::string resume_tracker::last_id_token() const { return last_id_is_string_ ? json_quote(last_id_) : last_id_; }

resume_tracker::verdict resume_tracker::on_text(std::string_view payload, std::string& id, bool& id_is_string) {
  if (!config_->enabled) return verdict::no_id;
  auto found = find_json_field(payload, config_->id_path);
  if (!found) return verdict::no_id;
  if (seen_->contains(found->text)) return verdict::duplicate;
  if (auto gap = numeric_id_gap(last_id_, found->text)) {
    ++id_gaps_;
    ids_missing_ += gap;
  }
  id_is_string = found->type == json_scalar::kind::string;
  id = std::move(found->text);
  seen_->insert(id);
  last_id_ = id;
  last_id_is_string_ = id_is_string;
  return verdict::fresh;
}

void resume_tracker::on_open(bool resumed, time_point now) {
  replaying_ = resumed;
  last_data_at_ = now;
}

bool resume_tracker::on_data(time_point now) {
  // A server replays right after the handshake; data after a pause in the stream is live.
  if (replaying_ && now - last_data_at_ > replay_quiet_gap) replaying_ = false;
  last_data_at_ = now;
  return replaying_;
}

bool resume_tracker::on_delivered(const std::string& id, bool is_string) {
  delivered_id_ = id;
  delivered_id_is_string_ = is_string;
  if (changed_) return false;  // a store is already scheduled; it takes this id along
  changed_ = true;
  return true;
}

void resume_tracker::store_if_changed() {
  if (!changed_) return;
  changed_ = false;
  if (store_) store_(delivered_id_is_string_ ? json_quote(delivered_id_) : delivered_id_);
}

void resume_tracker::adopt_parsed_as_delivered() {
  if (last_id_.empty() || last_id_ == delivered_id_) return;
  delivered_id_ = last_id_;
  delivered_id_is_string_ = last_id_is_string_;
  changed_ = true;
}

}  // namespace rws
