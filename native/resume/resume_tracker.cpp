#include "resume/resume_tracker.hpp"

#include "resume/json_field.hpp"

namespace rws {

resume_tracker::resume_tracker(std::shared_ptr<const resume_config> config, store_fn store)
    : config_(std::move(config)),
      on_(config_->enabled ? std::make_unique<enabled_state>(*config_, std::move(store)) : nullptr) {}

bool resume_tracker::restore(std::string_view id_token) {
  if (!on_ || id_token.empty()) return false;
  auto id = find_json_field("{\"id\":" + std::string(id_token) + "}", {"id"});
  if (!id) return false;
  on_->last_id = id->text;
  on_->last_id_is_string = id->type == json_scalar::kind::string;
  on_->delivered_id = on_->last_id;
  on_->delivered_id_is_string = on_->last_id_is_string;
  return true;
}

std::string resume_tracker::last_id_token() const {
  return last_id_is_string() ? json_quote(last_id()) : last_id();
}

resume_tracker::verdict resume_tracker::on_text(std::string_view payload, std::string& id, bool& id_is_string) {
  if (!on_) return verdict::no_id;
  auto found = find_json_field(payload, config_->id_path);
  if (!found) return verdict::no_id;
  if (on_->seen.contains(found->text)) return verdict::duplicate;
  if (auto gap = numeric_id_gap(on_->last_id, found->text)) {
    ++on_->id_gaps;
    on_->ids_missing += gap;
  }
  id_is_string = found->type == json_scalar::kind::string;
  id = std::move(found->text);
  on_->seen.insert(id);
  on_->last_id = id;
  on_->last_id_is_string = id_is_string;
  return verdict::fresh;
}

void resume_tracker::on_open(bool resumed, time_point now) {
  if (!on_) return;
  on_->replaying = resumed;
  on_->last_data_at = now;
}

bool resume_tracker::on_data(time_point now) {
  if (!on_) return false;
  // A server replays right after the handshake; data after a pause in the stream is live.
  if (on_->replaying && now - on_->last_data_at > replay_quiet_gap) on_->replaying = false;
  on_->last_data_at = now;
  return on_->replaying;
}

bool resume_tracker::on_delivered(const std::string& id, bool is_string) {
  if (!on_) return false;  // no ids are parsed, so none are delivered
  on_->delivered_id = id;
  on_->delivered_id_is_string = is_string;
  if (on_->changed) return false;  // a store is already scheduled; it takes this id along
  on_->changed = true;
  return true;
}

void resume_tracker::store_if_changed() {
  if (!on_ || !on_->changed) return;
  on_->changed = false;
  if (on_->store) on_->store(on_->delivered_id_is_string ? json_quote(on_->delivered_id) : on_->delivered_id);
}

void resume_tracker::adopt_parsed_as_delivered() {
  if (!on_ || on_->last_id.empty() || on_->last_id == on_->delivered_id) return;
  on_->delivered_id = on_->last_id;
  on_->delivered_id_is_string = on_->last_id_is_string;
  on_->changed = true;
}

}  // namespace rws
