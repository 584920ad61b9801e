// Structured logs of a run: what happens to flows and nodes (start, errors,
// containments, restarts, pressure, finish) and what guests write to
// stderr, each record with its flow, node, and the W3C trace id of the
// element it concerns, as JSON lines (or text) on stderr or in a file.
// Written through spdlog's thread-safe sinks.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "torvyn/core/error.hpp"
#include "torvyn/reactor/observer.hpp"
#include "torvyn/resources/node_host.hpp"

namespace spdlog {
class logger;
}

namespace torvyn {

enum class LogLevel : std::uint8_t { debug, info, warn, error };
std::optional<LogLevel> parse_log_level(std::string_view text);

class RunLog final : public GuestLineSink {
public:
    enum class Format : std::uint8_t { text, json };
    // `path` empty: stderr. Records below `level` are not written.
    static Result<std::unique_ptr<RunLog>> open(Format format, const std::string& path,
                                                LogLevel level);
    ~RunLog() override;
    RunLog(const RunLog&) = delete;
    RunLog& operator=(const RunLog&) = delete;

    // One record; `fields` are added to it (JSON) or appended (text).
    void write(LogLevel level, std::string_view flow, std::string_view node,
               std::string_view message, const TraceContext* trace,
               const nlohmann::json& fields = nlohmann::json::object());
    [[nodiscard]] bool enabled(LogLevel level) const { return level >= level_; }
    // A guest's stderr line, with the context of the call it came from.
    void guest_line(const NodeHost& node, std::string_view line) override;
    void flush();

private:
    RunLog(Format format, LogLevel level, std::shared_ptr<spdlog::logger> logger)
        : format_(format), level_(level), logger_(std::move(logger)) {}
    Format format_;
    LogLevel level_;
    std::shared_ptr<spdlog::logger> logger_;
};

// One flow's events as log records.
class LogObserver final : public FlowObserver {
public:
    explicit LogObserver(RunLog& log) : log_(log) {}
    [[nodiscard]] std::uint32_t events() const override;
    void on_start(const FlowTopology& topology) override;
    void on_pressure(std::uint32_t edge, bool pressured) override;
    void on_contained(std::uint32_t node, const Error& why, std::optional<std::uint64_t> element,
                      const TraceContext* trace) override;
    void on_error(std::uint32_t node, const Error& why, std::optional<std::uint64_t> element,
                  const TraceContext* trace) override;
    void on_restarted(std::uint32_t node, std::uint32_t restarts) override;
    void on_finish(const FlowReport& report) override;

private:
    RunLog& log_;
    FlowTopology topology_;
};

}  // namespace torvyn
