// Human and machine renderings of what a run did.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "torvyn/reactor/flow.hpp"

namespace torvyn {

// "88.10 us", "3.13 ms": nanoseconds for people.
std::string format_ns(double ns);
// "512 B", "1.5 KiB", "19.5 MiB".
std::string format_bytes(std::uint64_t bytes);
// An Error as {"code", "message", "where", "hint"}.
nlohmann::json error_json(const Error& e);

// A fixed-width table per flow: per-node counts, time and copies, then the
// flow's totals and its element accounting.
std::string format_summary(const FlowReport& report);

// What a flow had done when the process had to exit with one of its calls
// still in progress (a forced stop that the call did not end in time).
std::string format_progress_at_exit(const std::string& flow, const FlowProgress& p);

// The same facts as JSON (stable field names, times in nanoseconds).
nlohmann::json report_to_json(const FlowReport& report);

// The run summary and the JSON report as an observer: both are made when the
// flow finishes (`torvyn run` prints them once every flow has).
class ReportObserver final : public FlowObserver {
public:
    [[nodiscard]] std::uint32_t events() const override { return 0; }
    void on_finish(const FlowReport& report) override {
        summary_ = format_summary(report);
        json_ = report_to_json(report);
    }
    [[nodiscard]] const std::string& summary() const { return summary_; }
    [[nodiscard]] const nlohmann::json& json() const { return json_; }

private:
    std::string summary_;
    nlohmann::json json_;
};

}  // namespace torvyn
