// OpenTelemetry export of traced elements: every sampled element's visit of
// a node is a span (trace id and parent from the element's W3C context),
// sent as OTLP/HTTP protobuf (POST <endpoint>/v1/traces) by a background
// thread, in batches. The flow never waits for the collector: spans beyond
// a bounded queue are dropped and counted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "torvyn/core/error.hpp"
#include "torvyn/core/ticks.hpp"
#include "torvyn/reactor/observer.hpp"

namespace torvyn {

// One span, as the exporter keeps it until it is sent.
struct SpanRecord {
    TraceContext trace;  // parent: the parent span (0: a root)
    std::uint64_t span = 0;
    std::string name;
    std::uint64_t start_unix_ns = 0;
    std::uint64_t end_unix_ns = 0;
    bool failed = false;
    // Attributes: strings, then integers.
    std::vector<std::pair<std::string, std::string>> text;
    std::vector<std::pair<std::string, std::int64_t>> numbers;
};

// What describes the process that sent the spans (the OTLP resource).
struct OtlpResource {
    std::vector<std::pair<std::string, std::string>> attributes;
    // service.name from OTEL_SERVICE_NAME (or "torvyn"), service.version,
    // telemetry.sdk.*, host.name, process.pid.
    static OtlpResource of_this_process();
};

// An ExportTraceServiceRequest (opentelemetry/proto/collector/trace/v1) in
// the protobuf wire format.
std::string encode_otlp_traces(const OtlpResource& resource, const std::vector<SpanRecord>& spans);

struct OtlpStats {
    std::uint64_t sent = 0;     // spans the collector accepted
    std::uint64_t dropped = 0;  // spans the queue had no room for
    std::uint64_t failed = 0;   // spans in requests that failed
    std::uint64_t requests = 0;
    std::optional<Error> last_error;
};

class OtlpExporter {
public:
    static constexpr std::size_t kQueueLimit = 65'536;
    static constexpr std::size_t kBatch = 512;

    // `endpoint`: http(s)://host:port, or a full URL ending in /v1/traces.
    static Result<std::unique_ptr<OtlpExporter>> create(std::string endpoint);
    ~OtlpExporter();
    OtlpExporter(const OtlpExporter&) = delete;
    OtlpExporter& operator=(const OtlpExporter&) = delete;

    // Queues a span (any thread); dropped when the queue is full.
    void add(SpanRecord span);
    // Sends what is queued, waiting at most `timeout`, and stops the thread.
    OtlpStats finish(std::chrono::milliseconds timeout);
    [[nodiscard]] const std::string& url() const { return url_; }

private:
    explicit OtlpExporter(std::string url);
    void run();
    bool post(const std::string& body, std::string& why);

    std::string url_;
    OtlpResource resource_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<SpanRecord> queue_;
    bool closing_ = false;
    std::chrono::steady_clock::time_point give_up_at_ =
        std::chrono::steady_clock::time_point::max();
    OtlpStats stats_;
    std::thread thread_;
};

// Turns one flow's visits into spans for an exporter.
class OtlpObserver final : public FlowObserver {
public:
    explicit OtlpObserver(OtlpExporter& exporter) : exporter_(exporter) {}
    [[nodiscard]] std::uint32_t events() const override {
        return kVisitEvents | kCopyEvents | kCallEvents;
    }
    void on_start(const FlowTopology& topology) override;
    void on_call(std::uint32_t node, CallKind kind, std::uint64_t ticks,
                 CallStatus status) override;
    void on_copied(std::uint32_t node, std::uint64_t copies, std::uint64_t bytes) override;
    void on_visit(const Visit& visit) override;

private:
    [[nodiscard]] std::uint64_t unix_ns(std::uint64_t t) const;

    OtlpExporter& exporter_;
    FlowTopology topology_;
    TickScale scale_;
    std::uint64_t t0_ = 0;
    std::uint64_t unix0_ns_ = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> last_copies_;
};

}  // namespace torvyn
