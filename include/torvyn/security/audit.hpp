// The audit log: JSON lines recording the grants resolved at start, every
// denial (link-time and run-time) and every containment of a guest (trap,
// deadline, limit, restart). Safe to use from every flow's thread.
#pragma once

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string_view>

#include <nlohmann/json.hpp>

namespace torvyn {

class AuditLog {
public:
    // Appends to `path`; an empty path makes a log that records nothing.
    explicit AuditLog(const std::filesystem::path& path);
    [[nodiscard]] bool ok() const { return !enabled_ || out_.good(); }
    [[nodiscard]] bool enabled() const { return enabled_; }

    // One line: {"ts": ..., "event": event, "flow": flow, "node": node, ...fields}.
    void record(std::string_view event, std::string_view flow, std::string_view node,
                nlohmann::json fields = nlohmann::json::object());

private:
    bool enabled_;
    std::mutex mutex_;
    std::ofstream out_;
};

}  // namespace torvyn
