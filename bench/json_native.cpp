// The real-work stage natively: json_work::transform over the same events
// the json_events component makes, the same code the json_stage component
// runs. Prints the time per element of the transform alone, after a warm-up
// of 10%, for comparison with the json_stage node's time per element in
// `torvyn bench` (which includes the call, reading the payload and writing
// the result).
//   json_native COUNT  ->  one JSON line
#include <cstdlib>
#include <vector>

#include "bench_util.hpp"
#include "components/json_work.hpp"

int main(int argc, char** argv) {
    const std::uint64_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
    std::vector<std::string> events;
    events.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        events.push_back(json_work::event(i));
    }
    const std::uint64_t warmup = bench::warmup_for(count);
    std::string out;
    std::uint64_t kept = 0;
    std::uint64_t bytes = 0;
    std::uint64_t t0 = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        if (i == warmup) {
            t0 = bench::now_ns();
        }
        if (json_work::transform(events[i], out) == json_work::Outcome::kept) {
            ++kept;
            bytes += out.size();
        }
    }
    const double ns =
        static_cast<double>(bench::now_ns() - t0) / static_cast<double>(count - warmup);
    std::printf(
        "{\"bench\":\"json_native\",\"elements\":%llu,\"ns_per_element\":%.1f,\"kept\":%llu,"
        "\"bytes\":%llu}\n",
        static_cast<unsigned long long>(count - warmup), ns, static_cast<unsigned long long>(kept),
        static_cast<unsigned long long>(bytes));
}
