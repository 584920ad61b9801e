// The live endpoints as routes of any cpp-httplib server, for a process that
// serves more than them (the serve agent's admin API beside its flows'
// metrics and live page); LiveServer is the server that serves only them.
#pragma once

#include <httplib.h>

#include <thread>

#include "torvyn/core/error.hpp"
#include "torvyn/observability/live_server.hpp"

namespace torvyn {

// GET /metrics and/or the live page (/, /api/flows) from `registry`, which
// must outlive the server.
void add_live_routes(httplib::Server& http, LiveEndpoints endpoints, const LiveRegistry& registry);

// Binds `http` at `at` before anything runs, so a taken port fails at once
// (E0504); SO_REUSEADDR only (cpp-httplib's SO_REUSEPORT would let a second
// process share the port). Returns the port (the system's choice for 0).
Result<int> bind_server(httplib::Server& http, const ListenAddress& at);

// Serves a bound `http` on a thread of its own, returned once it runs (so
// that stop() always finds it running).
std::thread serve_bound(httplib::Server& http);

}  // namespace torvyn
