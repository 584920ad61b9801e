#include "torvyn/observability/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

#include <fmt/format.h>

#include "torvyn/core/guest_text.hpp"
#include "torvyn/reactor/flow.hpp"

namespace torvyn {
namespace {

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

std::string_view level_name(LogLevel level) {
    return kLevelNames[static_cast<std::size_t>(level)];
}

spdlog::level::level_enum spdlog_level(LogLevel level) {
    switch (level) {
        case LogLevel::debug:
            return spdlog::level::debug;
        case LogLevel::info:
            return spdlog::level::info;
        case LogLevel::warn:
            return spdlog::level::warn;
        case LogLevel::error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

// RFC 3339 UTC with microseconds: what log pipelines parse.
std::string utc_now() {
    const auto now = std::chrono::system_clock::now();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch());
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       us.count() % 1'000'000);
}

// Each RunLog gets a logger of its own name (spdlog keeps none of them).
std::string next_logger_name() {
    static std::atomic<int> n{0};
    return fmt::format("torvyn-run-{}", n++);
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
    for (std::size_t i = 0; i < std::size(kLevelNames); ++i) {
        if (kLevelNames[i] == text) {
            return static_cast<LogLevel>(i);
        }
    }
    return std::nullopt;
}

Result<std::unique_ptr<RunLog>> RunLog::open(Format format, const std::string& path,
                                             LogLevel level) {
    spdlog::sink_ptr sink;
    try {
        if (path.empty()) {
            sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        } else {
            sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
        }
    } catch (const spdlog::spdlog_ex& e) {
        return Error(ErrorCode::io, fmt::format("cannot write the log to {}: {}", path, e.what()),
                     "", "choose another --log-file");
    }
    auto logger = std::make_shared<spdlog::logger>(next_logger_name(), sink);
    logger->set_pattern("%v");  // each record is formatted whole, below
    logger->set_level(spdlog_level(level));
    logger->flush_on(spdlog::level::warn);
    return std::unique_ptr<RunLog>(new RunLog(format, level, std::move(logger)));
}

RunLog::~RunLog() {
    flush();
}

void RunLog::flush() {
    logger_->flush();
}

void RunLog::write(LogLevel level, std::string_view flow, std::string_view node,
                   std::string_view message, const TraceContext* trace,
                   const nlohmann::json& fields) {
    if (!enabled(level)) {
        return;
    }
    std::string line;
    if (format_ == Format::json) {
        nlohmann::ordered_json record = {
            {"ts", utc_now()}, {"level", level_name(level)}, {"flow", flow}};
        if (!node.empty()) {
            record["node"] = node;
        }
        if (trace != nullptr && trace->valid()) {
            record["trace_id"] = trace_id_hex(*trace);
        }
        record["msg"] = message;
        for (const auto& [key, value] : fields.items()) {
            record[key] = value;
        }
        // Guest text may hold anything; the record stays one valid line.
        line = record.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    } else {
        line = fmt::format("{} {:5} {}{}{}: {}", utc_now(), level_name(level), flow,
                           node.empty() ? "" : "/", node, escape_guest_text(message));
        if (trace != nullptr && trace->valid()) {
            line += fmt::format(" trace_id={}", trace_id_hex(*trace));
        }
        for (const auto& [key, value] : fields.items()) {
            line += fmt::format(" {}={}", key,
                                value.is_string() ? value.get<std::string>() : value.dump());
        }
    }
    logger_->log(spdlog_level(level), "{}", line);
}

void RunLog::guest_line(const NodeHost& node, std::string_view line) {
    const std::string_view flow =
        node.context != nullptr ? std::string_view(node.context->flow_id) : "";
    write(LogLevel::info, flow, node.name, line, node.element_trace, {{"source", "guest"}});
}

std::uint32_t LogObserver::events() const {
    return kErrorEvents | kContainmentEvents |
           (log_.enabled(LogLevel::debug) ? kPressureEvents : 0U);
}

void LogObserver::on_start(const FlowTopology& topology) {
    topology_ = topology;
    log_.write(LogLevel::info, topology.flow, "", "flow started", nullptr,
               {{"nodes", topology.nodes.size()}, {"edges", topology.edges.size()}});
}

void LogObserver::on_pressure(std::uint32_t edge, bool pressured) {
    log_.write(
        LogLevel::debug, topology_.flow, "",
        pressured ? "queue reached its high watermark" : "queue drained to its low watermark",
        nullptr, {{"queue", topology_.edges.at(edge)}});
}

void LogObserver::on_contained(std::uint32_t node, const Error& why,
                               std::optional<std::uint64_t> element, const TraceContext* trace) {
    nlohmann::json fields = {{"code", error_code_name(why.code)}, {"event", "contained"}};
    if (element) {
        fields["element"] = *element;
    }
    log_.write(LogLevel::error, topology_.flow, topology_.nodes.at(node), why.message, trace,
               fields);
}

void LogObserver::on_error(std::uint32_t node, const Error& why,
                           std::optional<std::uint64_t> element, const TraceContext* trace) {
    nlohmann::json fields = {{"code", error_code_name(why.code)}, {"event", "call failed"}};
    if (element) {
        fields["element"] = *element;
    }
    log_.write(LogLevel::warn, topology_.flow, topology_.nodes.at(node), why.message, trace,
               fields);
}

void LogObserver::on_restarted(std::uint32_t node, std::uint32_t restarts) {
    log_.write(LogLevel::warn, topology_.flow, topology_.nodes.at(node), "node restarted", nullptr,
               {{"restarts", restarts}});
}

void LogObserver::on_finish(const FlowReport& report) {
    const LogLevel level = report.ok() ? LogLevel::info : LogLevel::error;
    nlohmann::json fields = {
        {"stop", stop_reason_name(report.stop)},
        {"emitted", report.emitted},
        {"delivered", report.delivered},
        {"filtered", report.filtered},
        {"dropped", report.dropped},
        {"failed", report.failed},
        {"wall_ms", std::chrono::duration_cast<std::chrono::milliseconds>(report.wall).count()}};
    if (report.error) {
        fields["code"] = error_code_name(report.error->code);
    }
    log_.write(level, report.name, "",
               report.error ? report.error->message : std::string("flow finished"), nullptr,
               fields);
    log_.flush();
}

}  // namespace torvyn
