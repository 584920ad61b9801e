// The live progress line: on a terminal, a run that lasts more than a
// second shows one line, rewritten in place a few times a second (elements,
// rate, elapsed time, queues under pressure, elements in flight), and
// erased at the end. Nothing when stdout or stderr is not a terminal.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "run.hpp"

namespace torvyn::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string count(double n) {
    if (n >= 1e9) {
        return fmt::format("{:.2f}G", n / 1e9);
    }
    if (n >= 1e6) {
        return fmt::format("{:.2f}M", n / 1e6);
    }
    if (n >= 1e4) {
        return fmt::format("{:.1f}k", n / 1e3);
    }
    return fmt::format("{:.0f}", n);
}

class ProgressAddOn final : public RunAddOn {
public:
    void add_options(CLI::App& command) override {
        auto* on = command.add_flag("--progress", on_,
                                    "Show the live progress line even when stdout or stderr is "
                                    "not a terminal (by default: only when both are)");
        command.add_flag("--no-progress", off_, "Never show the live progress line")->excludes(on);
    }
    [[nodiscard]] bool wanted() const override {
        return on_ || (!off_ && isatty(STDOUT_FILENO) != 0 && isatty(STDERR_FILENO) != 0);
    }
    std::optional<Error> open(RunContext&) override {
        started_ = Clock::now();
        return std::nullopt;
    }
    std::vector<FlowObserver*> observers(std::size_t) override { return {}; }

    void tick(RunContext&, const std::vector<FlowProgress>& progress) override {
        const auto now = Clock::now();
        if (now - started_ < kQuietFor || now - shown_at_ < kEvery) {
            return;
        }
        std::uint64_t emitted = 0;
        std::uint64_t ended = 0;
        std::uint64_t in_flight = 0;
        std::uint64_t pressured = 0;
        std::uint64_t queues = 0;
        for (const auto& p : progress) {
            emitted += p.emitted + p.derived;
            ended += p.paths_ended();
            in_flight += p.in_flight();
            pressured += p.pressured_queues;
            queues += p.queues;
        }
        const double since = std::chrono::duration<double>(now - shown_at_).count();
        const double rate = shown_ ? static_cast<double>(ended - last_ended_) / since
                                   : static_cast<double>(ended) /
                                         std::chrono::duration<double>(now - started_).count();
        const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - started_);
        const std::string line = fmt::format(
            "\r\033[K{} elements | {}/s | {:02}:{:02} | {}/{} queues pressured | {} in flight",
            count(static_cast<double>(emitted)), count(rate), elapsed.count() / 60,
            elapsed.count() % 60, pressured, queues, in_flight);
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
        shown_ = true;
        shown_at_ = now;
        last_ended_ = ended;
    }

    bool close(RunContext&, const std::vector<FlowReport>&) override {
        if (shown_) {
            std::fputs("\r\033[K", stderr);  // the summary takes its place
        }
        return true;
    }

private:
    static constexpr auto kQuietFor = std::chrono::seconds(1);
    static constexpr auto kEvery = std::chrono::milliseconds(250);
    bool on_ = false;
    bool off_ = false;
    Clock::time_point started_;
    Clock::time_point shown_at_;
    bool shown_ = false;
    std::uint64_t last_ended_ = 0;
};

}  // namespace

std::unique_ptr<RunAddOn> make_progress_addon() {
    return std::make_unique<ProgressAddOn>();
}

}  // namespace torvyn::cli
