#include "torvyn/core/ticks.hpp"

#include <cstdlib>
#include <fstream>
#include <string>

namespace torvyn {

bool ticks_use_tsc() {
    static const bool use = [] {
        if (std::getenv("TORVYN_NO_TSC") != nullptr) {
            return false;
        }
#if defined(__x86_64__)
        std::ifstream in("/proc/cpuinfo");
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("flags", 0) == 0) {
                return line.find(" constant_tsc") != std::string::npos &&
                       line.find(" nonstop_tsc") != std::string::npos;
            }
        }
#endif
        return false;
    }();
    return use;
}

}  // namespace torvyn
