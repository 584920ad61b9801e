// The live flows as the page reads them (GET /api/flows).
#include <chrono>

#include "torvyn/observability/live_server.hpp"

namespace torvyn {
namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

nlohmann::json node_json(const NodeSnapshot& n) {
    nlohmann::json by_code = nlohmann::json::object();
    for (const auto& [code, count] : n.errors_by_code) {
        by_code[error_code_name(code)] = count;
    }
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& [name, value] : n.counters) {
        counters[name] = value;
    }
    return {{"name", n.name},
            {"role", role_name(n.role)},
            {"calls", n.calls},
            {"call_seconds", n.call_seconds},
            {"in", n.elements_in},
            {"out", n.elements_out},
            {"filtered", n.filtered},
            {"errors", n.errors},
            {"errors_by_code", std::move(by_code)},
            {"containments", n.containments},
            {"restarts", n.restarts},
            {"swaps", n.swaps},
            {"acked", n.acked},
            {"nacked", n.nacked},
            {"counters", counters},
            {"copies", n.copies},
            {"copied_bytes", n.copied_bytes}};
}

nlohmann::json edge_json(const EdgeSnapshot& e) {
    return {{"name", e.name},
            {"from", e.link.from},
            {"to", e.link.to},
            {"capacity", e.link.capacity},
            {"dead_letter", e.link.dead_letter},
            {"depth", e.depth},
            {"peak", e.peak},
            {"pushed", e.pushed},
            {"dropped", e.dropped},
            {"pressured", e.pressured},
            {"pressure_episodes", e.pressure_episodes},
            {"pressure_seconds", e.pressure_seconds}};
}

nlohmann::json flow_json(const FlowSnapshot& f) {
    const FlowProgress& p = f.progress;
    nlohmann::json j = {
        {"id", f.id},
        {"name", f.name},
        {"state", live_state_name(f.state)},
        {"stop", f.stop},
        {"elapsed_seconds", f.elapsed_seconds},
        {"started_unix_seconds", f.state == LiveState::linking ? 0.0 : unix_seconds(f.started)},
        {"elements",
         {{"emitted", p.emitted},
          {"derived", p.derived},
          {"fanout", p.branches},
          {"delivered", p.delivered},
          {"filtered", p.filtered},
          {"dropped", p.dropped},
          {"failed", p.failed},
          {"dead_lettered", p.dead_lettered},
          {"aggregated", p.aggregated},
          {"in_flight", p.in_flight()}}},
        {"copies", f.copies},
        {"copied_bytes", f.copied_bytes},
        {"buffer_bytes", p.buffer_bytes},
        {"peak_buffer_bytes", p.peak_buffer_bytes},
        {"buffer_budget", f.buffer_budget},
        {"containments", f.containments},
        {"restarts", f.restarts}};
    auto& nodes = j["nodes"] = nlohmann::json::array();
    for (const auto& n : f.nodes) {
        nodes.push_back(node_json(n));
    }
    auto& edges = j["edges"] = nlohmann::json::array();
    for (const auto& e : f.edges) {
        edges.push_back(edge_json(e));
    }
    auto& events = j["events"] = nlohmann::json::array();
    for (const auto& ev : f.events) {
        events.push_back({{"at_unix_seconds", unix_seconds(ev.at)},
                          {"node", ev.node},
                          {"code", ev.code},
                          {"message", ev.message},
                          {"contained", ev.contained}});
    }
    return j;
}

}  // namespace

nlohmann::json flows_json(const std::vector<FlowSnapshot>& flows) {
    nlohmann::json out = {{"now_unix_seconds", unix_seconds(std::chrono::system_clock::now())}};
    auto& list = out["flows"] = nlohmann::json::array();
    for (const auto& f : flows) {
        list.push_back(flow_json(f));
    }
    return out;
}

}  // namespace torvyn
