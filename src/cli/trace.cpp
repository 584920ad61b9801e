// torvyn trace: runs the flows as `torvyn run` does, tracing their elements,
// and writes a trace file for Perfetto (ui.perfetto.dev) or chrome://tracing.
#include <atomic>
#include <fstream>

#include <fmt/format.h>

#include "run.hpp"
#include "torvyn/observability/trace.hpp"

namespace torvyn::cli {
namespace {

class TraceFileAddOn final : public RunAddOn {
public:
    void add_options(CLI::App& command) override {
        command.add_option("--out,-o", out_, "Where to write the trace (Chrome trace-event JSON)")
            ->capture_default_str();
        command
            .add_option("--max-elements", max_elements_,
                        "Trace at most this many elements, then stop the run gracefully")
            ->capture_default_str();
    }
    [[nodiscard]] bool wanted() const override { return true; }

    std::optional<Error> open(RunContext& run) override {
        if (max_elements_ == 0) {
            return Error(ErrorCode::usage, "--max-elements must be at least 1");
        }
        file_.open(out_, std::ios::trunc);
        if (!file_) {
            return Error(ErrorCode::io, fmt::format("cannot write the trace to {}", out_), "",
                         "choose another --out");
        }
        run.options.sampling.max_elements = max_elements_;
        const bool every = run.options.sampling.mode == TraceSampling::Mode::every;
        for (std::size_t i = 0; i < run.flows; ++i) {
            recorders_.push_back(std::make_unique<TraceRecorder>(every));
        }
        return std::nullopt;
    }

    std::vector<FlowObserver*> observers(std::size_t flow) override {
        return {recorders_.at(flow).get()};
    }

    // Enough elements traced: the run drains and ends.
    void tick(RunContext& run, const std::vector<FlowProgress>&) override {
        std::uint64_t traced = 0;
        for (const auto& r : recorders_) {
            traced += r->elements();
        }
        if (traced >= max_elements_ * recorders_.size()) {
            run.signals.request(static_cast<int>(StopRequest::graceful));
        }
    }

    bool close(RunContext& run, const std::vector<FlowReport>&) override {
        std::vector<const TraceRecorder*> flows;
        std::uint64_t elements = 0;
        std::uint64_t visits = 0;
        bool truncated = false;
        for (const auto& r : recorders_) {
            flows.push_back(r.get());
            elements += r->elements();
            visits += r->visits();
            truncated = truncated || r->truncated();
        }
        write_chrome_trace(file_, flows,
                           {{"tool", "torvyn trace"},
                            {"manifest", run.manifest.path.string()},
                            {"max_elements", std::to_string(max_elements_)}});
        file_.close();
        if (!file_) {
            run.diag.error(Error(ErrorCode::io, fmt::format("cannot write the trace to {}", out_)));
            return false;
        }
        fmt::print(stderr, "trace: {} elements, {} visits{} -> {} (open in ui.perfetto.dev)\n",
                   elements, visits, truncated ? " (truncated)" : "", out_);
        return true;
    }

private:
    std::string out_ = "torvyn-trace.json";
    std::uint64_t max_elements_ = 10'000;
    std::ofstream file_;
    std::vector<std::unique_ptr<TraceRecorder>> recorders_;
};

}  // namespace

std::function<int()> define_trace(CLI::App& command) {
    auto args = std::make_shared<RunArgs>();
    args->sample = "all";
    args->quiet = false;
    auto addons = std::make_shared<AddOns>();
    addons->push_back(std::make_unique<TraceFileAddOn>());
    addons->push_back(make_otlp_addon());
    addons->push_back(make_log_addon());
    addons->push_back(make_progress_addon());
    addons->push_back(make_live_addon());
    add_run_options(command, *args, *addons);
    return [args, addons] { return run_flows(*args, *addons); };
}

}  // namespace torvyn::cli
