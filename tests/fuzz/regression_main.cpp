// Runs a fuzz target over files, as `make test` does with each target's
// corpus: every input the fuzzers ever kept must still pass. Arguments are
// files or folders (every file inside).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int run_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                          std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    int inputs = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
                if (entry.is_regular_file()) {
                    inputs += run_file(entry.path());
                }
            }
        } else {
            inputs += run_file(arg);
        }
    }
    if (inputs == 0) {
        std::fprintf(stderr, "no inputs: pass corpus folders or files\n");
        return 1;
    }
    std::printf("%d inputs passed\n", inputs);
    return 0;
}
