// Process pipeline: three processes joined by Unix pipes, length-prefixed
// frames, the same work per stage as the Torvyn pipeline. Tuned as a careful
// engineer would: 1 MiB pipes (F_SETPIPE_SZ), buffered reads, writes
// gathered into 64 KiB and flushed before a stage would wait for input (so
// batching never holds an element back), large payloads moved without the
// buffer.
//   pipes_chain source SIZE COUNT [GAP_US] | pipes_chain processor | pipes_chain sink COUNT
// With GAP_US the source sleeps between frames and flushes each one, so
// latency is the path's own, not queueing.
// The sink prints one JSON line (bench::SinkStats: the source stamps each
// frame before producing it, on CLOCK_MONOTONIC; one machine, one clock).
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <vector>

#include "bench_util.hpp"

namespace {

struct Header {
    std::uint32_t size;
    std::uint64_t born_ns;
} __attribute__((packed));

constexpr std::size_t kBuffer = 64 * 1024;

class Reader {
public:
    explicit Reader(int fd) : fd_(fd), buf_(kBuffer) {}
    // Whether the next read would wait for the kernel.
    [[nodiscard]] bool empty() const { return at_ == end_; }
    bool read(void* p, std::size_t n) {
        auto* out = static_cast<std::uint8_t*>(p);
        while (n > 0) {
            if (at_ == end_) {
                if (n >= buf_.size()) {  // large: straight into the destination
                    const ssize_t r = ::read(fd_, out, n);
                    if (r <= 0) {
                        return false;
                    }
                    out += r;
                    n -= static_cast<std::size_t>(r);
                    continue;
                }
                const ssize_t r = ::read(fd_, buf_.data(), buf_.size());
                if (r <= 0) {
                    return false;
                }
                at_ = 0;
                end_ = static_cast<std::size_t>(r);
            }
            const std::size_t take = std::min(n, end_ - at_);
            std::memcpy(out, buf_.data() + at_, take);
            at_ += take;
            out += take;
            n -= take;
        }
        return true;
    }

private:
    int fd_;
    std::vector<std::uint8_t> buf_;
    std::size_t at_ = 0;
    std::size_t end_ = 0;
};

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

class Writer {
public:
    explicit Writer(int fd) : fd_(fd) {
        // A larger pipe: fewer wake-ups between the stages. Best effort (the
        // system's pipe-max-size may be lower).
        (void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
        buf_.reserve(kBuffer);
    }
    bool write(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::uint8_t*>(p);
        if (buf_.size() + n > kBuffer && !flush()) {
            return false;
        }
        if (n >= kBuffer) {
            return write_all(fd_, b, n);
        }
        buf_.insert(buf_.end(), b, b + n);
        return true;
    }
    bool flush() {
        const bool ok = write_all(fd_, buf_.data(), buf_.size());
        buf_.clear();
        return ok;
    }

private:
    int fd_;
    std::vector<std::uint8_t> buf_;
};

}  // namespace

int main(int argc, char** argv) {
    const std::string_view role = argc > 1 ? argv[1] : "";
    if (role == "source" && argc >= 4) {
        const std::size_t size = std::strtoull(argv[2], nullptr, 10);
        const std::uint64_t count = std::strtoull(argv[3], nullptr, 10);
        const std::uint64_t gap_ns = argc > 4 ? std::strtoull(argv[4], nullptr, 10) * 1000 : 0;
        Writer out(1);
        std::vector<std::uint8_t> buf(size);
        for (std::uint64_t i = 0; i < count; ++i) {
            bench::pace(gap_ns);
            const Header h{static_cast<std::uint32_t>(size), bench::now_ns()};
            bench::fill(buf.data(), size, i);
            if (!out.write(&h, sizeof h) || !out.write(buf.data(), size) ||
                (gap_ns != 0 && !out.flush())) {
                return 1;
            }
        }
        return out.flush() ? 0 : 1;
    }
    if (role == "processor") {
        Reader in(0);
        Writer out(1);
        Header h{};
        std::vector<std::uint8_t> payload;
        for (;;) {
            // About to wait for input: what is gathered goes downstream first.
            if (in.empty() && !out.flush()) {
                return 1;
            }
            if (!in.read(&h, sizeof h)) {
                break;
            }
            payload.resize(h.size);
            if (!in.read(payload.data(), h.size)) {
                return 1;
            }
            // The processor's copy: into the outgoing buffer.
            if (!out.write(&h, sizeof h) || !out.write(payload.data(), payload.size())) {
                return 1;
            }
        }
        return out.flush() ? 0 : 1;
    }
    if (role == "sink" && argc == 3) {
        const std::uint64_t count = std::strtoull(argv[2], nullptr, 10);
        Reader in(0);
        Header h{};
        std::vector<std::uint8_t> payload;
        std::uint32_t checksum = 0;
        bench::SinkStats stats(bench::warmup_for(count));
        while (in.read(&h, sizeof h)) {
            payload.resize(h.size);
            if (!in.read(payload.data(), h.size)) {
                return 1;
            }
            checksum ^= bench::fnv(payload.data(), h.size);
            stats.delivered(h.born_ns);
        }
        std::printf("{\"bench\":\"pipes\",%s,\"checksum\":%u}\n", stats.json_fields().c_str(),
                    checksum);
        return 0;
    }
    std::fprintf(stderr,
                 "usage: pipes_chain source SIZE COUNT [GAP_US] | pipes_chain processor | "
                 "pipes_chain sink COUNT\n");
    return 2;
}
