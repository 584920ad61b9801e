// Same-node microservices: source -> processor -> sink as three processes
// chained by gRPC client streams over loopback, the same work per stage as
// the Torvyn pipeline (write a payload, copy it, read it once).
//   grpc_chain sink PORT COUNT &
//   grpc_chain processor PORT NEXT_PORT [paced] &
//   grpc_chain source NEXT_PORT SIZE COUNT [GAP_US]   -> one JSON line
// With GAP_US the source sleeps that long between frames (latency runs).
// Each server serves one stream and exits. Settings: grpc++ synchronous
// client streams (one long-lived HTTP/2 stream per hop, no per-message RPC),
// insecure loopback channels, default flow-control windows, buffer hints when
// flat out (write_options). Timed like every system (bench::SinkStats).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <string>
#include <string_view>
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

// Flat out, writes carry the buffer hint: gRPC may gather several messages
// into one frame and one syscall (the fastest a client stream gets). Paced,
// each message goes out at once, as a latency-minded service would send it.
grpc::WriteOptions write_options(bool paced) {
    grpc::WriteOptions o;
    if (!paced) {
        o.set_buffer_hint();
    }
    return o;
}

class SinkStage final : public Stage::Service {
public:
    explicit SinkStage(std::uint64_t count) : count_(count) {}
    std::promise<void> done;
    grpc::Status Push(grpc::ServerContext*, grpc::ServerReader<Frame>* reader,
                      Summary* out) override {
        Frame f;
        std::uint32_t checksum = 0;
        bench::SinkStats stats(bench::warmup_for(count_));
        while (reader->Read(&f)) {
            const auto& p = f.payload();
            checksum ^= bench::fnv(reinterpret_cast<const std::uint8_t*>(p.data()), p.size());
            stats.delivered(f.born_ns());
        }
        out->set_measured(stats.json_fields());
        out->set_checksum(checksum);
        done.set_value();
        return grpc::Status::OK;
    }

private:
    std::uint64_t count_;
};

class ProcessorStage final : public Stage::Service {
public:
    ProcessorStage(const std::string& next, bool paced)
        : next_(Stage::NewStub(grpc::CreateChannel(next, grpc::InsecureChannelCredentials()))),
          paced_(paced) {}
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
            if (!writer->Write(copy, write_options(paced_))) {
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
    bool paced_;
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
    if (role == "sink" && argc == 4) {
        SinkStage s(std::strtoull(argv[3], nullptr, 10));
        return serve(address(argv[2]), s);
    }
    if (role == "processor" && (argc == 4 || argc == 5)) {
        ProcessorStage p(address(argv[3]), argc == 5 && std::string_view(argv[4]) == "paced");
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
            f.set_born_ns(bench::now_ns());
            bench::fill(reinterpret_cast<std::uint8_t*>(payload.data()), size, i);
            f.set_payload(payload);
            if (!writer->Write(f, write_options(gap_ns != 0))) {
                break;
            }
        }
        writer->WritesDone();
        const grpc::Status s = writer->Finish();
        if (!s.ok()) {
            std::fprintf(stderr, "grpc: %s\n", s.error_message().c_str());
            return 1;
        }
        std::printf("{\"bench\":\"grpc\",\"size\":%zu,%s,\"checksum\":%u}\n", size,
                    summary.measured().c_str(), summary.checksum());
        return 0;
    }
    std::fprintf(stderr,
                 "usage: grpc_chain sink PORT COUNT | processor PORT NEXT [paced] | "
                 "source NEXT SIZE COUNT [GAP_US]\n");
    return 2;
}
