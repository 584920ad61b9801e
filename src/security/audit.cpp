#include "torvyn/security/audit.hpp"

#include <chrono>

#include "torvyn/core/limits.hpp"

namespace torvyn {
namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

AuditLog::AuditLog(const std::filesystem::path& path) : enabled_(!path.empty()) {
    if (enabled_) {
        out_.open(path, std::ios::app);
    }
}

AuditLog::~AuditLog() {
    const std::lock_guard lock(mutex_);
    for (const auto& [who, window] : denials_) {
        if (window.suppressed != 0) {
            write_locked("deny-suppressed", who.first, who.second,
                         {{"suppressed", window.suppressed}});
        }
    }
}

void AuditLog::write_locked(std::string_view event, std::string_view flow, std::string_view node,
                            nlohmann::json fields) {
    nlohmann::json line = {{"ts_ms", now_ms()}, {"event", event}, {"flow", flow}, {"node", node}};
    line.update(fields);
    out_ << line.dump() << '\n';
    out_.flush();
}

void AuditLog::record(std::string_view event, std::string_view flow, std::string_view node,
                      nlohmann::json fields) {
    if (!enabled_) {
        return;
    }
    const std::lock_guard lock(mutex_);
    write_locked(event, flow, node, std::move(fields));
}

void AuditLog::deny(std::string_view flow, std::string_view node, nlohmann::json fields) {
    if (!enabled_) {
        return;
    }
    const std::lock_guard lock(mutex_);
    DenialWindow& w = denials_[{std::string(flow), std::string(node)}];
    const std::int64_t second = now_ms() / 1000;
    if (second != w.second) {
        w.second = second;
        w.written = 0;
    }
    if (w.written >= limits::kMaxDenialsPerSecond) {
        ++w.suppressed;
        return;
    }
    ++w.written;
    if (w.suppressed != 0) {
        fields["suppressed"] = w.suppressed;
        w.suppressed = 0;
    }
    write_locked("deny", flow, node, std::move(fields));
}

}  // namespace torvyn
