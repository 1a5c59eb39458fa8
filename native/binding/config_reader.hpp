#pragma once
// Copies the clean config object built by lib/options.js into the core's session_config. lib/
// has validated and defaulted everything; this only reads, and throws a TypeError naming the
// field if lib/ and the binding ever disagree.
#include <napi.h>

#include "session/session_config.hpp"

namespace rws::binding {

session_config read_session_config(const Napi::Object& js);

}  // namespace rws::binding
