#include "torvyn/observability/trace.hpp"

#include <chrono>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace torvyn {
namespace {

// Calls that hand a stage an element (or make one): traced through visits.
bool element_call(CallKind kind) {
    switch (kind) {
        case CallKind::pull:
        case CallKind::process:
        case CallKind::push:
        case CallKind::accept:
        case CallKind::route:
        case CallKind::ingest:
            return true;
        default:
            return false;
    }
}

std::string json_text(std::string_view text) {
    return nlohmann::json(text).dump();
}

}  // namespace

std::uint32_t TraceRecorder::events() const {
    return kCallEvents | kCopyEvents | kVisitEvents | kContainmentEvents | kErrorEvents |
           kPressureEvents | (queue_depths_ ? kQueueEvents : 0U);
}

void TraceRecorder::on_start(const FlowTopology& topology) {
    topology_ = topology;
    scale_ = TickScale();
    t0_ = ticks();
    wall0_ns_ = unix_now_ns();
    last_copies_.assign(topology.nodes.size(), {0, 0});
}

bool TraceRecorder::room() {
    if (visits_.size() + calls_.size() + marks_.size() + depths_.size() >= kMaxRecords) {
        truncated_ = true;
        return false;
    }
    return true;
}

void TraceRecorder::on_call(std::uint32_t node, CallKind kind, std::uint64_t took,
                            CallStatus status) {
    last_copies_[node] = {0, 0};
    if (element_call(kind) || !room()) {
        return;
    }
    const std::uint64_t now = ticks();
    calls_.push_back({node, kind, status, now - took, now});
}

void TraceRecorder::on_copied(std::uint32_t node, std::uint64_t copies, std::uint64_t bytes) {
    last_copies_[node] = {copies, bytes};
}

void TraceRecorder::on_visit(const Visit& v) {
    if (v.edge == kNoEdgeIndex && v.kind == CallKind::pull) {
        elements_.fetch_add(1, std::memory_order_relaxed);
    }
    if (!room()) {
        return;
    }
    // A call's copies go with the first of its visits (a batch's slice sums them).
    auto& [copies, bytes] = last_copies_[v.node];
    visits_.push_back({v.node, v.edge, v.kind, v.end, v.sent_on, v.element.trace,
                       v.element.sequence, v.span, v.element.queued_ticks, v.call_start, v.call_end,
                       copies, bytes});
    copies = bytes = 0;
}

void TraceRecorder::on_queue(std::uint32_t edge, std::size_t depth) {
    if (room()) {
        depths_.push_back({edge, static_cast<std::uint32_t>(depth), ticks()});
    }
}

void TraceRecorder::on_pressure(std::uint32_t edge, bool pressured) {
    if (room()) {
        marks_.push_back({edge, ticks(), pressured ? "pressure" : "relieved", "", true});
    }
}

void TraceRecorder::on_contained(std::uint32_t node, const Error& why,
                                 std::optional<std::uint64_t> element, const TraceContext*) {
    (void)element;
    if (room()) {
        marks_.push_back({node, ticks(), fmt::format("contained {}", error_code_name(why.code)),
                          why.message, false});
    }
}

void TraceRecorder::on_error(std::uint32_t node, const Error& why,
                             std::optional<std::uint64_t> element, const TraceContext*) {
    (void)element;
    if (room()) {
        marks_.push_back({node, ticks(), fmt::format("error {}", error_code_name(why.code)),
                          why.message, false});
    }
}

void TraceRecorder::on_finish(const FlowReport& report) {
    (void)report;
    ns_per_tick_ = scale_.ns_per_tick();
}

double TraceRecorder::us(std::uint64_t t) const {
    const double since = t >= t0_ ? static_cast<double>(t - t0_) : 0.0;
    return since * ns_per_tick_ / 1000.0;
}

void TraceRecorder::write_events(std::ostream& out, std::uint32_t pid, bool& first) const {
    const auto emit = [&](const std::string& event) {
        out << (first ? "\n" : ",\n") << event;
        first = false;
    };
    const auto& names = topology_.nodes;
    std::vector<std::string> node_names;
    for (std::size_t i = 0; i < names.size(); ++i) {
        node_names.push_back(json_text(names[i]));
    }
    std::vector<std::string> edge_names;
    for (const auto& e : topology_.edges) {
        edge_names.push_back(json_text(e));
    }
    const auto edge_name = [&](std::uint32_t e) {
        return e < edge_names.size() ? edge_names[e] : std::string("\"?\"");
    };

    emit(fmt::format(R"({{"ph":"M","name":"process_name","pid":{},"args":{{"name":{}}}}})", pid,
                     json_text(fmt::format("flow {}", topology_.flow))));
    emit(fmt::format(R"({{"ph":"M","name":"process_labels","pid":{},"args":{{"labels":{}}}}})", pid,
                     json_text(fmt::format("started at unix ns {}", wall0_ns_))));
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto tid = i + 1;
        emit(fmt::format(
            R"({{"ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":{}}}}})", pid, tid,
            json_text(fmt::format("{} ({})", names[i], role_name(topology_.roles.at(i))))));
        emit(fmt::format(
            R"({{"ph":"M","name":"thread_sort_index","pid":{},"tid":{},"args":{{"sort_index":{}}}}})",
            pid, tid, i));
    }

    // Calls with no traced element.
    for (const auto& c : calls_) {
        emit(fmt::format(
            R"({{"ph":"X","cat":"call","name":{},"pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f},"args":{{"call":"{}","status":"{}"}}}})",
            json_text(fmt::format("{} {}", names.at(c.node), call_kind_name(c.kind))), pid,
            c.node + 1, us(c.start), us(c.end) - us(c.start), call_kind_name(c.kind),
            call_status_name(c.status)));
    }

    // A slice per call that handled traced elements: consecutive visits of
    // one node with the same call start share it.
    struct Where {
        std::uint32_t node;
        double mid;
    };
    std::unordered_map<std::uint64_t, Where> span_at;
    std::uint64_t next_flow_id = (std::uint64_t{pid} << 40U) + 1;
    for (std::size_t i = 0; i < visits_.size();) {
        const VisitRecord& head = visits_[i];
        std::size_t j = i;
        std::uint64_t copies = 0;
        std::uint64_t bytes = 0;
        std::string elements;
        for (; j < visits_.size() && visits_[j].node == head.node &&
               visits_[j].start == head.start && visits_[j].kind == head.kind;
             ++j) {
            const VisitRecord& v = visits_[j];
            copies += v.copies;
            bytes += v.bytes;
            elements += fmt::format(
                R"({}{{"seq":{},"trace":"{}","span":"{}","parent":"{}","end":"{}","sent_on":{},"edge":{}}})",
                elements.empty() ? "" : ",", v.sequence, trace_id_hex(v.trace), span_id_hex(v.span),
                v.trace.parent == 0 ? "" : span_id_hex(v.trace.parent), visit_end_name(v.end),
                v.sent_on, v.edge == kNoEdgeIndex ? std::string("null") : edge_name(v.edge));
        }
        const double ts = us(head.start);
        const double dur = us(head.end_ticks) - ts;
        emit(fmt::format(
            R"({{"ph":"X","cat":"call","name":{},"pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f},"args":{{"call":"{}","copies":{},"bytes_copied":{},"elements":[{}]}}}})",
            json_text(fmt::format("{} {}", names.at(head.node), call_kind_name(head.kind))), pid,
            head.node + 1, ts, dur, call_kind_name(head.kind), copies, bytes, elements));
        const double mid = ts + dur / 2;
        for (std::size_t k = i; k < j; ++k) {
            const VisitRecord& v = visits_[k];
            span_at[v.span] = Where{v.node, mid};
            // The arrow from the visit that sent it here.
            if (const auto parent = span_at.find(v.trace.parent); parent != span_at.end()) {
                const std::uint64_t id = next_flow_id++;
                emit(fmt::format(
                    R"({{"ph":"s","cat":"element","name":"element","id":{},"pid":{},"tid":{},"ts":{:.3f}}})",
                    id, pid, parent->second.node + 1, parent->second.mid));
                emit(fmt::format(
                    R"({{"ph":"f","bp":"e","cat":"element","name":"element","id":{},"pid":{},"tid":{},"ts":{:.3f}}})",
                    id, pid, v.node + 1, mid));
            }
            // Its wait in the queue it came through.
            if (v.queued != 0 && v.edge != kNoEdgeIndex) {
                const std::string id = span_id_hex(v.span);
                emit(fmt::format(
                    R"({{"ph":"b","cat":"queue","name":{},"id":"0x{}","pid":{},"ts":{:.3f},"args":{{"seq":{},"trace":"{}"}}}})",
                    edge_name(v.edge), id, pid, us(v.queued), v.sequence, trace_id_hex(v.trace)));
                emit(fmt::format(
                    R"({{"ph":"e","cat":"queue","name":{},"id":"0x{}","pid":{},"ts":{:.3f}}})",
                    edge_name(v.edge), id, pid, ts));
            }
        }
        i = j;
    }

    for (const auto& m : marks_) {
        if (m.on_edge) {
            emit(fmt::format(
                R"({{"ph":"C","name":{},"pid":{},"ts":{:.3f},"args":{{"pressured":{}}}}})",
                json_text(fmt::format("pressure {}", topology_.edges.at(m.node))), pid, us(m.at),
                m.name == "pressure" ? 1 : 0));
        } else {
            emit(fmt::format(
                R"({{"ph":"i","s":"t","cat":"error","name":{},"pid":{},"tid":{},"ts":{:.3f},"args":{{"message":{}}}}})",
                json_text(m.name), pid, m.node + 1, us(m.at), json_text(m.message)));
        }
    }
    for (const auto& d : depths_) {
        emit(fmt::format(R"({{"ph":"C","name":{},"pid":{},"ts":{:.3f},"args":{{"depth":{}}}}})",
                         json_text(fmt::format("queue {}", topology_.edges.at(d.edge))), pid,
                         us(d.at), d.depth));
    }
}

void write_chrome_trace(std::ostream& out, const std::vector<const TraceRecorder*>& flows,
                        const std::vector<std::pair<std::string, std::string>>& metadata) {
    out << R"({"displayTimeUnit":"ns","otherData":{)";
    bool truncated = false;
    for (const auto* f : flows) {
        truncated = truncated || f->truncated();
    }
    out << R"("truncated":)" << (truncated ? "true" : "false");
    for (const auto& [key, value] : metadata) {
        out << ',' << json_text(key) << ':' << json_text(value);
    }
    out << R"(},"traceEvents":[)";
    bool first = true;
    for (std::size_t i = 0; i < flows.size(); ++i) {
        flows[i]->write_events(out, static_cast<std::uint32_t>(i + 1), first);
    }
    out << "\n]}\n";
}

}  // namespace torvyn
