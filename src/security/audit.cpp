#include "torvyn/security/audit.hpp"

#include <chrono>

namespace torvyn {

AuditLog::AuditLog(const std::filesystem::path& path) : enabled_(!path.empty()) {
    if (enabled_) {
        out_.open(path, std::ios::app);
    }
}

void AuditLog::record(std::string_view event, std::string_view flow, std::string_view node,
                      nlohmann::json fields) {
    if (!enabled_) {
        return;
    }
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    nlohmann::json line = {
        {"ts_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now).count()},
        {"event", event},
        {"flow", flow},
        {"node", node}};
    line.update(fields);
    const std::lock_guard lock(mutex_);
    out_ << line.dump() << '\n';
    out_.flush();
}

}  // namespace torvyn
