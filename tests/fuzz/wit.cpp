// Fuzz target: the WIT validation path (`torvyn check`). Any text in a WIT
// file is either a valid package or an E0207 error that names a place.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_check.hpp"
#include "torvyn/engine/engine.hpp"

namespace {

const std::filesystem::path& scratch() {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() /
                 ("torvyn-fuzz-wit-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    {
        std::ofstream out(scratch() / "fuzz.wit", std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    const torvyn::Status s = torvyn::check_wit(scratch());
    if (!s.ok()) {
        TORVYN_FUZZ_CHECK(s.error().code == torvyn::ErrorCode::wit_invalid);
        TORVYN_FUZZ_CHECK(!s.error().where.empty());
        TORVYN_FUZZ_CHECK(!s.error().message.empty());
    }
    return 0;
}
