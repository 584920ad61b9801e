// Same-node microservices: source -> processor -> sink as three processes
// chained by gRPC client streams over loopback, the same work per stage as
// the Torvyn pipeline (write a payload, copy it, read it once).
//   grpc_chain sink PORT &
//   grpc_chain processor PORT NEXT_PORT &
//   grpc_chain source NEXT_PORT SIZE COUNT [GAP_US]   -> one JSON line
// With GAP_US the source waits that long between frames (latency runs).
// Each server serves one stream and exits.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

#include "../bench_util.hpp"
#include "chain.grpc.pb.h"

namespace {

using torvyn::bench::Frame;
using torvyn::bench::Stage;
using torvyn::bench::Summary;

std::string address(const char* port) {
    return std::string("127.0.0.1:") + port;
}

class SinkStage final : public Stage::Service {
public:
    std::promise<void> done;
    grpc::Status Push(grpc::ServerContext*, grpc::ServerReader<Frame>* reader,
                      Summary* out) override {
        Frame f;
        std::vector<std::uint64_t> latency;
        std::uint32_t checksum = 0;
        std::uint64_t first = 0;
        std::uint64_t last = 0;
        while (reader->Read(&f)) {
            const auto& p = f.payload();
            checksum ^= bench::fnv(reinterpret_cast<const std::uint8_t*>(p.data()), p.size());
            last = bench::now_ns();
            if (first == 0) {
                first = f.born_ns();
            }
            latency.push_back(last - f.born_ns());
        }
        std::sort(latency.begin(), latency.end());
        const auto pct = [&](double q) {
            return latency.empty() ? 0
                                   : latency[static_cast<std::size_t>(
                                         q * static_cast<double>(latency.size() - 1))];
        };
        const double secs = static_cast<double>(last - first) / 1e9;
        out->set_elements(latency.size());
        out->set_elements_per_second(static_cast<double>(latency.size()) / secs);
        out->set_ns_per_element(secs * 1e9 / static_cast<double>(latency.size()));
        out->set_latency_p50_ns(pct(0.5));
        out->set_latency_p99_ns(pct(0.99));
        out->set_checksum(checksum);
        done.set_value();
        return grpc::Status::OK;
    }
};

class ProcessorStage final : public Stage::Service {
public:
    explicit ProcessorStage(const std::string& next)
        : next_(Stage::NewStub(grpc::CreateChannel(next, grpc::InsecureChannelCredentials()))) {}
    std::promise<void> done;
    grpc::Status Push(grpc::ServerContext*, grpc::ServerReader<Frame>* reader,
                      Summary* out) override {
        grpc::ClientContext ctx;
        ctx.set_wait_for_ready(true);
        auto writer = next_->Push(&ctx, out);
        Frame in;
        Frame copy;
        while (reader->Read(&in)) {
            copy.set_born_ns(in.born_ns());
            copy.set_payload(in.payload());  // the processor's copy
            if (!writer->Write(copy)) {
                break;
            }
        }
        writer->WritesDone();
        const grpc::Status s = writer->Finish();
        done.set_value();
        return s;
    }

private:
    std::unique_ptr<Stage::Stub> next_;
};

template <class Service>
int serve(const std::string& addr, Service& service) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(addr, grpc::InsecureServerCredentials());
    builder.RegisterService(&service);
    auto server = builder.BuildAndStart();
    if (!server) {
        std::fprintf(stderr, "cannot listen on %s\n", addr.c_str());
        return 1;
    }
    service.done.get_future().wait();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string role = argc > 1 ? argv[1] : "";
    if (role == "sink" && argc == 3) {
        SinkStage s;
        return serve(address(argv[2]), s);
    }
    if (role == "processor" && argc == 4) {
        ProcessorStage p(address(argv[3]));
        return serve(address(argv[2]), p);
    }
    if (role == "source" && (argc == 5 || argc == 6)) {
        const std::size_t size = std::strtoull(argv[3], nullptr, 10);
        const std::uint64_t count = std::strtoull(argv[4], nullptr, 10);
        const std::uint64_t gap_ns = argc == 6 ? std::strtoull(argv[5], nullptr, 10) * 1000 : 0;
        auto stub = Stage::NewStub(
            grpc::CreateChannel(address(argv[2]), grpc::InsecureChannelCredentials()));
        grpc::ClientContext ctx;
        ctx.set_wait_for_ready(true);
        Summary summary;
        auto writer = stub->Push(&ctx, &summary);
        Frame f;
        std::string payload(size, '\0');
        for (std::uint64_t i = 0; i < count; ++i) {
            bench::pace(gap_ns);
            bench::fill(reinterpret_cast<std::uint8_t*>(payload.data()), size, i);
            f.set_born_ns(bench::now_ns());
            f.set_payload(payload);
            if (!writer->Write(f)) {
                break;
            }
        }
        writer->WritesDone();
        const grpc::Status s = writer->Finish();
        if (!s.ok()) {
            std::fprintf(stderr, "grpc: %s\n", s.error_message().c_str());
            return 1;
        }
        std::printf(
            "{\"bench\":\"grpc\",\"size\":%zu,\"elements\":%llu,\"elements_per_second\":%.0f,"
            "\"ns_per_element\":%.1f,\"latency_p50_ns\":%llu,\"latency_p99_ns\":%llu,\"checksum\":%"
            "u}\n",
            size, static_cast<unsigned long long>(summary.elements()),
            summary.elements_per_second(), summary.ns_per_element(),
            static_cast<unsigned long long>(summary.latency_p50_ns()),
            static_cast<unsigned long long>(summary.latency_p99_ns()), summary.checksum());
        return 0;
    }
    std::fprintf(stderr,
                 "usage: grpc_chain sink PORT | processor PORT NEXT | source NEXT SIZE COUNT\n");
    return 2;
}
