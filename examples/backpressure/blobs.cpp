// A fast source: `count` payloads of `size` bytes (config, defaults 100000 and
// 1024; count=0 never ends). Each payload is filled with a pattern derived
// from its sequence number, so a sink can verify it (fill=0: no pattern).
// The C++ SDK also exports pull-batch: the host asks for what the queues
// downstream can take in one call, and small payloads go back by value.
#include <torvyn/component.hpp>

#include <string>

struct Blobs {
    std::uint64_t count = 100000;
    std::uint64_t size = 1024;
    std::uint64_t next = 0;
    bool fill = true;
    std::string scratch;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        count = config.get_u64("count", 100000);
        size = config.get_u64("size", 1024);
        fill = config.get_u64("fill", 1) != 0;
        if (size > (1u << 20)) {
            return torvyn::Error::invalid_input("size must be at most 1048576");
        }
        scratch.assign(size, '\0');
        return torvyn::Ok{};
    }

    torvyn::Result<torvyn::Pulled> pull() {
        if (count != 0 && next == count) {
            return torvyn::Pulled::exhausted();
        }
        // fill=0 sends the same bytes every time: a pure copy benchmark.
        if (fill) {
            // Through a local pointer: a write through std::string's own
            // operator[] may alias the string, which keeps clang from
            // vectorising the loop.
            auto* p = reinterpret_cast<std::uint8_t*>(scratch.data());
            const std::uint64_t n = size;
            const std::uint64_t base = next;
            for (std::uint64_t i = 0; i < n; ++i) {
                p[i] = static_cast<std::uint8_t>(base + i);
            }
        }
        auto out = torvyn::make_output(scratch, "application/octet-stream");
        if (!out) {
            return out.error();
        }
        out.value()->sequence = next++;
        return torvyn::Pulled(std::move(out.value()));
    }
};

TORVYN_SOURCE(Blobs)
