// --log-format, --log-file, --log-level: the run's structured logs (flow and
// node events, guests' stderr) as JSON lines or text.
#include <fmt/format.h>

#include "run.hpp"
#include "torvyn/observability/log.hpp"

namespace torvyn::cli {
namespace {

class LogAddOn final : public RunAddOn {
public:
    void add_options(CLI::App& command) override {
        command
            .add_option("--log-format", format_,
                        "Structured logs of the run (events, guests' stderr): json or text")
            ->check(CLI::IsMember({"json", "text"}));
        command.add_option("--log-file", file_, "Write the logs to this file instead of stderr");
        command.add_option("--log-level", level_, "Least level logged: debug, info, warn, error")
            ->capture_default_str()
            ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
    }
    [[nodiscard]] bool wanted() const override { return !format_.empty() || !file_.empty(); }

    std::optional<Error> open(RunContext& run) override {
        const auto format = format_ == "text" || (format_.empty() && !file_.empty())
                                ? RunLog::Format::text
                                : RunLog::Format::json;
        auto log = RunLog::open(format, file_, parse_log_level(level_).value_or(LogLevel::info));
        if (!log) {
            return log.error();
        }
        log_ = std::move(log).value();
        run.options.guest_lines = log_.get();
        for (std::size_t i = 0; i < run.flows; ++i) {
            observers_.push_back(std::make_unique<LogObserver>(*log_));
        }
        return std::nullopt;
    }

    std::vector<FlowObserver*> observers(std::size_t flow) override {
        return {observers_.at(flow).get()};
    }

    bool close(RunContext&, const std::vector<FlowReport>&) override {
        log_->flush();
        return true;
    }

private:
    std::string format_;
    std::string file_;
    std::string level_ = "info";
    std::unique_ptr<RunLog> log_;
    std::vector<std::unique_ptr<LogObserver>> observers_;
};

}  // namespace

std::unique_ptr<RunAddOn> make_log_addon() {
    return std::make_unique<LogAddOn>();
}

}  // namespace torvyn::cli
