// --otlp URL: sampled elements' visits as OpenTelemetry spans, sent to a
// collector while the flows run.
#include <fmt/format.h>

#include "run.hpp"
#include "torvyn/observability/otlp.hpp"

namespace torvyn::cli {
namespace {

class OtlpAddOn final : public RunAddOn {
public:
    void add_options(CLI::App& command) override {
        command.add_option("--otlp", endpoint_,
                           "Send traced elements as spans to this OpenTelemetry collector "
                           "(OTLP/HTTP, e.g. http://127.0.0.1:4318)");
    }
    [[nodiscard]] bool wanted() const override { return !endpoint_.empty(); }

    std::optional<Error> open(RunContext& run) override {
        auto exporter = OtlpExporter::create(endpoint_);
        if (!exporter) {
            return exporter.error();
        }
        exporter_ = std::move(exporter).value();
        for (std::size_t i = 0; i < run.flows; ++i) {
            observers_.push_back(std::make_unique<OtlpObserver>(*exporter_));
        }
        return std::nullopt;
    }

    std::vector<FlowObserver*> observers(std::size_t flow) override {
        return {observers_.at(flow).get()};
    }

    bool close(RunContext& run, const std::vector<FlowReport>&) override {
        const OtlpStats stats = exporter_->finish(std::chrono::seconds(5));
        if (stats.last_error) {
            Error e = *stats.last_error;
            e.message += fmt::format(" ({} spans not delivered)", stats.failed);
            run.diag.warning(e);
        }
        fmt::print(stderr, "otlp: {} spans sent to {} in {} requests, {} dropped, {} failed\n",
                   stats.sent, exporter_->url(), stats.requests, stats.dropped, stats.failed);
        return true;  // spans are best-effort: the run's elements are what count
    }

private:
    std::string endpoint_;
    std::unique_ptr<OtlpExporter> exporter_;
    std::vector<std::unique_ptr<OtlpObserver>> observers_;
};

}  // namespace

std::unique_ptr<RunAddOn> make_otlp_addon() {
    return std::make_unique<OtlpAddOn>();
}

}  // namespace torvyn::cli
