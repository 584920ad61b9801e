// A processor for the contract tests: checks each payload against the
// pattern blobs.wasm writes (byte i of element s is (s + i) mod 256) when
// config has verify=1, refuses every `fail-every`-th element (sequence
// divisible by it) with invalid-input, and passes the others on as a copy.
// With work=N it first sums the payload N times over (a stage that costs
// CPU, for multi-core flows). Built with the C++ SDK, so it also exports
// process-batch.
#include <torvyn/component.hpp>

#include <string>

struct CheckedCopy {
    std::uint64_t fail_every = 0;
    bool verify = false;
    std::uint64_t work = 0;
    volatile std::uint64_t sum = 0;  // volatile: the work is not optimised away

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        fail_every = config.get_u64("fail-every", 0);
        verify = config.get_u64("verify", 0) != 0;
        work = config.get_u64("work", 0);
        return torvyn::Ok{};
    }

    torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
        if (fail_every != 0 && e.sequence % fail_every == 0) {
            return torvyn::Error::invalid_input("element " + std::to_string(e.sequence) +
                                                " refused");
        }
        const torvyn::Bytes payload = e.payload.read_all();
        for (std::uint64_t round = 0; round < work; ++round) {
            std::uint64_t s = sum;
            for (std::byte b : payload.span()) {
                s = s * 31 + static_cast<std::uint8_t>(b) + round;
            }
            sum = s;
        }
        if (verify) {
            std::size_t i = 0;
            for (std::byte b : payload.span()) {
                if (b != static_cast<std::byte>((e.sequence + i) & 0xff)) {
                    return torvyn::Error::internal("payload of element " +
                                                   std::to_string(e.sequence) + " differs at " +
                                                   std::to_string(i));
                }
                ++i;
            }
        }
        return torvyn::make_output(payload.view(), e.payload.content_type());
    }
};

TORVYN_PROCESSOR(CheckedCopy)
