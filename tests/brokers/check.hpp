// The brokers' smoke programs (nats_smoke.cpp, kafka_smoke.cpp): a failed
// check prints where and why and ends the program with status 1, so the
// driver (smoke.py) fails the ctest test and shows the broker's log.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace torvyn::brokers_test {

[[noreturn]] inline void fail(const char* file, int line, const std::string& what) {
    std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what.c_str());
    std::fflush(nullptr);
    // Not exit(): the client libraries' threads are still running, and tearing
    // down static state under them can crash instead of reporting status 1.
    std::_Exit(1);
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A smoke program's main: `NAME ADDRESS run|after-restart` calls `run` or
// `after_restart` with the address; 2 for a usage error, 0 when they return
// (a failed check has ended the program with 1).
template <class Run, class AfterRestart>
int run_phase(int argc, char** argv, const char* name, Run run, AfterRestart after_restart) {
    const std::string phase = argc == 3 ? argv[2] : "";
    if (phase == "run") {
        run(argv[1]);
    } else if (phase == "after-restart") {
        after_restart(argv[1]);
    } else {
        std::fprintf(stderr, "usage: %s ADDRESS run|after-restart\n", name);
        return 2;
    }
    return 0;
}

}  // namespace torvyn::brokers_test

#define BROKER_CHECK(cond, what)                                                                  \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            ::torvyn::brokers_test::fail(__FILE__, __LINE__, std::string(#cond) + ": " + (what)); \
        }                                                                                         \
    } while (0)
