// Sandbox floor: what the engine bridge costs on its own, measured with the
// host's own facade (real Wasmtime, real component):
//   - a host -> component typed call (filter.accept of a nop component,
//     lending two borrowed handles),
//   - a component -> host call (buffer.size),
//   - instantiation time and resident memory per idle instance.
//   bridge_floor NOP_WASM [NOP_SOURCE_WASM]  ->  JSON lines
#include <cstdlib>
#include <memory>
#include <vector>

#include "bench_util.hpp"
#include "torvyn/engine/engine.hpp"

using namespace torvyn;

namespace {

double ns_per_accept(Runtime& rt, const std::shared_ptr<const PreparedComponent>& p, NodeHost& host,
                     std::string_view config, std::uint64_t calls) {
    auto inst = rt.instantiate(p, host, {});
    if (!inst || !inst.value()->init(config).ok()) {
        std::fprintf(stderr, "cannot instantiate the nop component\n");
        std::exit(1);
    }
    const BufferHandle h = host.buffers->make_host_buffer({}, "", nullptr);
    ElementRef e;
    e.payload = h;
    bool accepted = false;
    for (int i = 0; i < 1000; ++i) {  // warm-up
        (void)inst.value()->accept(e, accepted);
    }
    const auto t0 = bench::now_ns();
    for (std::uint64_t i = 0; i < calls; ++i) {
        (void)inst.value()->accept(e, accepted);
    }
    const auto t1 = bench::now_ns();
    host.buffers->release(h);
    return static_cast<double>(t1 - t0) / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: bridge_floor NOP_WASM\n");
        return 2;
    }
    RuntimeOptions o;
    auto facts = inspect_component_file(argv[1]);
    if (!facts) {
        std::fprintf(stderr, "%s\n", facts.error().format().c_str());
        return 1;
    }
    PoolSize many{.component_instances = 0, .use = {}};
    many.add(facts.value().pool, 1100);
    o.pool = o.pool.at_least(many);
    auto rt = Runtime::create(o);
    if (!rt) {
        std::fprintf(stderr, "%s\n", rt.error().format().c_str());
        return 1;
    }
    auto c = rt.value()->load(argv[1]);
    if (!c) {
        std::fprintf(stderr, "%s\n", c.error().format().c_str());
        return 1;
    }
    auto p = rt.value()->prepare(c.value(), Role::filter, {});
    if (!p) {
        std::fprintf(stderr, "%s\n", p.error().format().c_str());
        return 1;
    }
    BufferStore buffers;
    CopyLedger ledger;
    FlowContextInfo ctx{"bench", "0", "0", std::nullopt};
    NodeHost host;
    host.buffers = &buffers;
    host.ledger = &ledger;
    host.context = &ctx;

    constexpr std::uint64_t kCalls = 200000;
    constexpr std::uint64_t kHostCalls = 100;
    const double call = ns_per_accept(*rt.value(), p.value(), host, "", kCalls);
    const double with_host =
        ns_per_accept(*rt.value(), p.value(), host, "host-calls=100", kCalls / 10);
    const double host_call = (with_host - call) / static_cast<double>(kHostCalls);
    std::printf("{\"bench\":\"bridge_call\",\"ns_per_call\":%.1f}\n", call);

    // The same with nothing lent: source.notify of a nop source.
    if (argc > 2) {
        auto cs = rt.value()->load(argv[2]);
        auto ps = cs ? rt.value()->prepare(cs.value(), Role::source, {})
                     : Result<std::shared_ptr<const PreparedComponent>>(cs.error());
        auto si = ps ? rt.value()->instantiate(ps.value(), host, {})
                     : Result<std::unique_ptr<Instance>>(ps.error());
        if (si) {
            for (int i = 0; i < 1000; ++i) {
                (void)si.value()->notify(false);
            }
            const auto n0 = bench::now_ns();
            for (std::uint64_t i = 0; i < kCalls; ++i) {
                (void)si.value()->notify(false);
            }
            std::printf("{\"bench\":\"bare_call\",\"ns_per_call\":%.1f}\n",
                        static_cast<double>(bench::now_ns() - n0) / static_cast<double>(kCalls));
        }
    }
    std::printf("{\"bench\":\"host_call\",\"ns_per_call\":%.1f}\n", host_call);

    // Instantiation and idle memory: 1000 instances of the nop component.
    constexpr int kInstances = 1000;
    std::vector<std::unique_ptr<Instance>> held;
    held.reserve(kInstances);
    const auto rss0 = bench::rss_bytes();
    const auto t0 = bench::now_ns();
    for (int i = 0; i < kInstances; ++i) {
        auto inst = rt.value()->instantiate(p.value(), host, {});
        if (!inst) {
            std::fprintf(stderr, "%s\n", inst.error().format().c_str());
            return 1;
        }
        held.push_back(std::move(inst).value());
    }
    const auto t1 = bench::now_ns();
    const auto rss1 = bench::rss_bytes();
    std::printf(
        "{\"bench\":\"instantiate\",\"us_per_instance\":%.2f,\"rss_bytes_per_idle_instance\":%.0f}"
        "\n",
        static_cast<double>(t1 - t0) / 1e3 / kInstances,
        static_cast<double>(rss1 - rss0) / kInstances);
}
