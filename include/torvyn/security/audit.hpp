// The audit log: JSON lines recording the grants resolved at start, every
// denial (link-time and run-time) and every containment of a guest (trap,
// deadline, limit, restart). Safe to use from every flow's thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace torvyn {

class AuditLog {
public:
    // Appends to `path`; an empty path makes a log that records nothing.
    explicit AuditLog(const std::filesystem::path& path);
    // Writes what denial rate limiting held back (see deny).
    ~AuditLog();
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;
    [[nodiscard]] bool ok() const { return !enabled_ || out_.good(); }
    [[nodiscard]] bool enabled() const { return enabled_; }

    // One line: {"ts": ..., "event": event, "flow": flow, "node": node, ...fields}.
    void record(std::string_view event, std::string_view flow, std::string_view node,
                nlohmann::json fields = nlohmann::json::object());

    // A "deny" entry, rate-limited: a guest retrying a refused operation in a
    // loop gets limits::kMaxDenialsPerSecond entries per second; the others
    // are counted, and the count goes with the node's next entry (and a last
    // "deny-suppressed" entry when the log closes) as "suppressed".
    void deny(std::string_view flow, std::string_view node, nlohmann::json fields);

private:
    struct DenialWindow {
        std::int64_t second = 0;
        int written = 0;
        std::uint64_t suppressed = 0;
    };
    void write_locked(std::string_view event, std::string_view flow, std::string_view node,
                      nlohmann::json fields);

    bool enabled_;
    std::mutex mutex_;
    std::ofstream out_;
    std::map<std::pair<std::string, std::string>, DenialWindow> denials_;
};

}  // namespace torvyn
