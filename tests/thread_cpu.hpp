// CPU time of the calling thread, for tests that check a flow (run on the
// calling thread) waits instead of spinning.
#pragma once

#include <sys/resource.h>

#include <chrono>

namespace torvyn::testing {

inline std::chrono::microseconds thread_cpu() {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return std::chrono::seconds(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           std::chrono::microseconds(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace torvyn::testing
