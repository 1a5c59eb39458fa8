#include "binding/config_reader.hpp"

#include <cmath>
#include <limits>

namespace rws::binding {
namespace {

Napi::Value field(const Napi::Object& obj, const char* name) {
  Napi::Value v = obj.Get(name);
  if (v.IsUndefined()) throw Napi::TypeError::New(obj.Env(), std::string("resilient-ws internal: missing config field ") + name);
  return v;
}

std::string str(const Napi::Object& obj, const char* name) { return field(obj, name).As<Napi::String>().Utf8Value(); }
double num(const Napi::Object& obj, const char* name) { return field(obj, name).As<Napi::Number>().DoubleValue(); }
bool flag(const Napi::Object& obj, const char* name) { return field(obj, name).As<Napi::Boolean>().Value(); }
Napi::Object sub(const Napi::Object& obj, const char* name) { return field(obj, name).As<Napi::Object>(); }

std::uint64_t count(const Napi::Object& obj, const char* name) {
  double d = num(obj, name);
  if (!std::isfinite(d) || d >= 1.8e19) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(d);
}

std::vector<std::string> strings(const Napi::Object& obj, const char* name) {
  auto array = field(obj, name).As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); ++i) out.push_back(array.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

json_scalar read_scalar(const Napi::Value& v) {
  json_scalar s;
  if (v.IsString()) {
    s.type = json_scalar::kind::string;
    s.text = v.As<Napi::String>().Utf8Value();
  } else if (v.IsNumber()) {
    s.type = json_scalar::kind::number;
    s.text = v.ToString().Utf8Value();
  } else if (v.IsBoolean()) {
    s.type = json_scalar::kind::boolean;
    s.text = v.As<Napi::Boolean>().Value() ? "true" : "false";
  } else {
    s.type = json_scalar::kind::null;
    s.text = "null";
  }
  return s;
}

// [[path...], expected] pairs (lib/options.js matchRules) as json_match_rules.
std::vector<json_match_rule> match_rules(const Napi::Array& rules) {
  std::vector<json_match_rule> out;
  for (uint32_t i = 0; i < rules.Length(); ++i) {
    auto rule = rules.Get(i).As<Napi::Array>();
    json_match_rule r;
    auto path = rule.Get(0u).As<Napi::Array>();
    for (uint32_t j = 0; j < path.Length(); ++j) r.path.push_back(path.Get(j).As<Napi::String>().Utf8Value());
    r.expected = read_scalar(rule.Get(1u));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

session_config read_session_config(const Napi::Object& js) {
  session_config c;
  // Parts of WHATWG-parsed URLs (lib/options.js nativeUrl); the core has no URL parser of its own.
  auto urls = field(js, "urls").As<Napi::Array>();
  for (uint32_t i = 0; i < urls.Length(); ++i) {
    auto u = urls.Get(i).As<Napi::Object>();
    c.urls.push_back(make_ws_url(flag(u, "secure"), str(u, "host"), static_cast<std::uint16_t>(num(u, "port")),
                                 str(u, "target"), str(u, "basicAuth")));
    c.urls.back().display = str(u, "display");  // lib/ removes credentials and query values
  }
  // Per URL: null, or the proxy lib/proxy.js chose (option or environment).
  auto proxies = field(js, "proxies").As<Napi::Array>();
  for (uint32_t i = 0; i < proxies.Length(); ++i) {
    auto v = proxies.Get(i);
    if (!v.IsObject()) {
      c.proxies.emplace_back();
      continue;
    }
    auto p = v.As<Napi::Object>();
    c.proxies.push_back(proxy_config{str(p, "host"), str(p, "port"), str(p, "authorization"), str(p, "display")});
  }
  c.follow_redirects = static_cast<std::uint32_t>(num(js, "followRedirects"));
  c.protocols = strings(js, "protocols");
  auto headers = field(js, "headers").As<Napi::Array>();
  for (uint32_t i = 0; i < headers.Length(); ++i) {
    auto pair = headers.Get(i).As<Napi::Array>();
    c.headers.emplace_back(pair.Get(0u).As<Napi::String>().Utf8Value(), pair.Get(1u).As<Napi::String>().Utf8Value());
  }
  c.connect_timeout_ms = static_cast<std::uint32_t>(num(js, "connectTimeout"));
  c.max_message_size = count(js, "maxMessageSize");
  c.per_message_deflate = flag(js, "perMessageDeflate");

  auto tls = sub(js, "tls");
  c.tls.ca = str(tls, "ca");
  c.tls.cert = str(tls, "cert");
  c.tls.key = str(tls, "key");
  c.tls.passphrase = str(tls, "passphrase");
  c.tls.servername = str(tls, "servername");
  c.tls.reject_unauthorized = flag(tls, "rejectUnauthorized");

  auto hb = sub(js, "heartbeat");
  c.heartbeat.enabled = flag(hb, "enabled");
  c.heartbeat.interval_ms = static_cast<std::uint32_t>(num(hb, "interval"));
  c.heartbeat.timeout_ms = static_cast<std::uint32_t>(num(hb, "timeout"));
  c.heartbeat.message_mode = str(hb, "mode") == "message";
  c.heartbeat.message = str(hb, "message");
  c.heartbeat.pong = str(hb, "pong");

  auto rc = sub(js, "reconnect");
  c.reconnect.enabled = flag(rc, "enabled");
  c.reconnect.curve.initial_delay_ms = num(rc, "initialDelay");
  c.reconnect.curve.max_delay_ms = num(rc, "maxDelay");
  c.reconnect.curve.multiplier = num(rc, "multiplier");
  auto jitter = str(rc, "jitter");
  c.reconnect.curve.jitter = jitter == "full"    ? jitter_kind::full
                             : jitter == "equal" ? jitter_kind::equal
                             : jitter == "none"  ? jitter_kind::none
                                                 : jitter_kind::fraction;
  c.reconnect.curve.jitter_fraction = num(rc, "jitterFraction");
  c.reconnect.curve.immediate = flag(rc, "immediate");
  c.reconnect.stable_after_ms = static_cast<std::uint32_t>(num(rc, "stableAfter"));
  c.reconnect.max_retries = count(rc, "maxRetries");
  c.reconnect.stop_on_close_codes.clear();
  auto codes = field(rc, "stopOnCloseCodes").As<Napi::Array>();
  for (uint32_t i = 0; i < codes.Length(); ++i) {
    c.reconnect.stop_on_close_codes.push_back(static_cast<std::uint16_t>(codes.Get(i).As<Napi::Number>().Uint32Value()));
  }

  auto rs = sub(js, "resume");
  c.resume.enabled = flag(rs, "enabled");
  c.resume.id_path = strings(rs, "idPath");
  auto via = str(rs, "via");
  c.resume.via = via == "header" ? resume_via::header : via == "message" ? resume_via::message : resume_via::query;
  c.resume.param = str(rs, "param");
  c.resume.window = static_cast<std::size_t>(num(rs, "window"));
  c.resume.reset_match = match_rules(field(rs, "resetMatch").As<Napi::Array>());

  auto ob = sub(js, "outbox");
  c.outbox.path = str(ob, "path");
  auto fsync = str(ob, "fsync");
  c.outbox.fsync = fsync == "always" ? fsync_policy::always : fsync == "none" ? fsync_policy::none : fsync_policy::batch;
  c.outbox.max_messages = count(ob, "maxMessages");
  c.outbox.max_bytes = count(ob, "maxBytes");
  c.outbox.drop_oldest = str(ob, "onFull") == "drop-oldest";
  c.outbox.guarantee = str(ob, "guarantee") == "acked" ? delivery_guarantee::acked : delivery_guarantee::written;
  c.outbox.ack_key_path = strings(ob, "ackKeyPath");
  c.outbox.ack_match = match_rules(field(ob, "ackMatch").As<Napi::Array>());
  c.outbox.key_field = str(ob, "keyField");
  return c;
}

}  // namespace rws::binding
