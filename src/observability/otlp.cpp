// The OTLP exporter's thread and the observer that turns visits into spans.
#include "torvyn/observability/otlp.hpp"

#include <curl/curl.h>

#include <fmt/format.h>

namespace torvyn {
namespace {

std::size_t discard_body(char*, std::size_t size, std::size_t count, void*) {
    return size * count;
}

Error export_error(std::string_view url, std::string_view why) {
    return Error(ErrorCode::export_failed, fmt::format("OTLP export to {} failed: {}", url, why),
                 "",
                 "check that an OpenTelemetry collector listens there (OTLP/HTTP, protobuf; "
                 "the default port is 4318)");
}

}  // namespace

Result<std::unique_ptr<OtlpExporter>> OtlpExporter::create(std::string endpoint) {
    if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
        return Error(ErrorCode::usage,
                     fmt::format("--otlp '{}' is not an http:// or https:// URL", endpoint), "",
                     "give the collector's OTLP/HTTP endpoint, e.g. --otlp http://127.0.0.1:4318");
    }
    // As OTEL_EXPORTER_OTLP_ENDPOINT: the signal's path is appended unless
    // the URL already names it.
    const std::string path = "/v1/traces";
    if (endpoint.size() < path.size() ||
        endpoint.compare(endpoint.size() - path.size(), path.size(), path) != 0) {
        while (!endpoint.empty() && endpoint.back() == '/') {
            endpoint.pop_back();
        }
        endpoint += path;
    }
    static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (init != CURLE_OK) {
        return Error(ErrorCode::internal, "libcurl could not be initialised");
    }
    return std::unique_ptr<OtlpExporter>(new OtlpExporter(std::move(endpoint)));
}

OtlpExporter::OtlpExporter(std::string url)
    : url_(std::move(url)), resource_(OtlpResource::of_this_process()) {
    thread_ = std::thread([this] { run(); });
}

OtlpExporter::~OtlpExporter() {
    if (thread_.joinable()) {
        finish(std::chrono::milliseconds(0));
    }
}

void OtlpExporter::add(SpanRecord span) {
    const std::lock_guard lock(mutex_);
    if (queue_.size() >= kQueueLimit || closing_) {
        ++stats_.dropped;
        return;
    }
    queue_.push_back(std::move(span));
    if (queue_.size() >= kBatch) {
        wake_.notify_one();
    }
}

OtlpStats OtlpExporter::finish(std::chrono::milliseconds timeout) {
    {
        const std::lock_guard lock(mutex_);
        closing_ = true;
        give_up_at_ = std::chrono::steady_clock::now() + timeout;
    }
    wake_.notify_one();
    if (thread_.joinable()) {
        thread_.join();
    }
    const std::lock_guard lock(mutex_);
    stats_.dropped += queue_.size();  // what the deadline left
    queue_.clear();
    return stats_;
}

// Sends a batch when one is full, or every second, until closed and empty
// (or past the closing deadline).
void OtlpExporter::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_for(lock, std::chrono::seconds(1),
                       [&] { return closing_ || queue_.size() >= kBatch; });
        if (queue_.empty()) {
            if (closing_) {
                return;
            }
            continue;
        }
        if (closing_ && std::chrono::steady_clock::now() >= give_up_at_) {
            return;
        }
        std::vector<SpanRecord> batch;
        while (!queue_.empty() && batch.size() < kBatch) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        lock.unlock();
        const std::string body = encode_otlp_traces(resource_, batch);
        std::string why;
        const bool ok = post(body, why);
        lock.lock();
        ++stats_.requests;
        if (ok) {
            stats_.sent += batch.size();
        } else {
            stats_.failed += batch.size();
            stats_.last_error = export_error(url_, why);
        }
    }
}

bool OtlpExporter::post(const std::string& body, std::string& why) {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
        why = "libcurl could not make a handle";
        return false;
    }
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/x-protobuf");
    curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10'000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
        why = curl_easy_strerror(rc);
        return false;
    }
    if (status < 200 || status > 299) {
        why = fmt::format("the collector answered HTTP {}", status);
        return false;
    }
    return true;
}

void OtlpObserver::on_start(const FlowTopology& topology) {
    topology_ = topology;
    scale_ = TickScale();
    t0_ = ticks();
    unix0_ns_ = unix_now_ns();
    last_copies_.assign(topology.nodes.size(), {0, 0});
}

void OtlpObserver::on_call(std::uint32_t node, CallKind, std::uint64_t, CallStatus) {
    last_copies_[node] = {0, 0};
}

void OtlpObserver::on_copied(std::uint32_t node, std::uint64_t copies, std::uint64_t bytes) {
    last_copies_[node] = {copies, bytes};
}

std::uint64_t OtlpObserver::unix_ns(std::uint64_t t) const {
    const double since = t >= t0_ ? static_cast<double>(t - t0_) : 0.0;
    return unix0_ns_ + static_cast<std::uint64_t>(since * scale_.ns_per_tick());
}

void OtlpObserver::on_visit(const Visit& v) {
    SpanRecord s;
    s.trace = v.element.trace;
    s.span = v.span;
    const std::string& node = topology_.nodes.at(v.node);
    s.name = fmt::format("{} {}", node, call_kind_name(v.kind));
    s.start_unix_ns = unix_ns(v.call_start);
    s.end_unix_ns = unix_ns(v.call_end);
    s.failed = v.end == VisitEnd::failed || v.end == VisitEnd::dead_lettered;
    s.text = {{"torvyn.flow", topology_.flow},
              {"torvyn.node", node},
              {"torvyn.role", std::string(role_name(topology_.roles.at(v.node)))},
              {"torvyn.call", std::string(call_kind_name(v.kind))},
              {"torvyn.visit.end", std::string(visit_end_name(v.end))}};
    if (v.edge != kNoEdgeIndex) {
        s.text.emplace_back("torvyn.edge", topology_.edges.at(v.edge));
    }
    if (s.failed) {
        s.text.emplace_back("error.type", std::string(visit_end_name(v.end)));
    }
    auto& [copies, bytes] = last_copies_[v.node];
    s.numbers = {{"torvyn.element.sequence", static_cast<std::int64_t>(v.element.sequence)},
                 {"torvyn.sent_on", v.sent_on},
                 {"torvyn.copies", static_cast<std::int64_t>(copies)},
                 {"torvyn.copy.bytes", static_cast<std::int64_t>(bytes)}};
    copies = bytes = 0;
    if (v.element.queued_ticks != 0 && v.call_start > v.element.queued_ticks) {
        s.numbers.emplace_back(
            "torvyn.queue.wait_ns",
            static_cast<std::int64_t>(unix_ns(v.call_start) - unix_ns(v.element.queued_ticks)));
    }
    exporter_.add(std::move(s));
}

}  // namespace torvyn
