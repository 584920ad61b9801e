// The file, stdin and stdout connectors. A source cuts what it reads into
// lines or length-prefixed frames (4 bytes, big-endian), one buffer each,
// never holding more than one element's limit plus one read; a sink writes
// each element as it comes (a line: payload and '\n'; a frame: prefix and
// payload), so a write error fails exactly the elements it lost.
#include "file.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "settings.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn::connectors {
namespace {

namespace fs = std::filesystem;

enum class Format : std::uint8_t { lines, frames };

struct FileOptions {
    std::string path;  // empty: standard input or output
    Format format = Format::lines;
    bool follow = false;  // sources: keep reading what is appended
    bool append = false;  // sinks: append to the file (else truncate it)
    std::uint64_t max_line = limits::kDefaultConnectorElementBytes;
    std::uint64_t max_frame = limits::kDefaultConnectorElementBytes;
};

enum class Stream : std::uint8_t { file, stdio };

FileOptions read_options(const NodeSpec& node, std::vector<Error>& errors, Stream stream) {
    SettingsReader r(node, errors);
    FileOptions o;
    if (stream == Stream::file) {
        o.path = r.text("path", "", true);
    }
    o.format = static_cast<Format>(r.choice("format", {"lines", "frames"}, 0));
    const bool source = node.role == Role::source;
    if (source) {
        if (stream == Stream::file) {
            o.follow = r.boolean("follow", false);
            r.not_for_role("mode", "a source never writes its file");
        }
        o.max_line = r.size("max-line-bytes", o.max_line, limits::kMaxConnectorElementBytes);
        o.max_frame = r.size("max-frame-bytes", o.max_frame, limits::kMaxConnectorElementBytes);
    } else {
        if (stream == Stream::file) {
            o.append = r.choice("mode", {"truncate", "append"}, 0) == 1;
            r.not_for_role("follow", "only a source follows a file");
        }
        r.not_for_role("max-line-bytes", "a sink writes what it is given");
        r.not_for_role("max-frame-bytes", "a sink writes what it is given");
    }
    r.finish();
    return o;
}

fs::path resolve(const std::string& path, const fs::path& base) {
    const fs::path p(path);
    return p.is_absolute() || base.empty() ? p : base / p;
}

CallResult io_error(std::string message, GuestErrorKind kind = GuestErrorKind::unavailable) {
    CallResult r = CallResult::guest(kind, std::move(message));
    r.code = static_cast<std::uint16_t>(ErrorCode::connector_io);
    return r;
}

std::string_view format_name(Format f) {
    return f == Format::lines ? "lines" : "frames";
}

// --- source ----------------------------------------------------------------

class FileSource final : public Stage {
public:
    FileSource(NodeHost& host, FileOptions o, std::string shown)
        : host_(host), o_(std::move(o)), shown_(std::move(shown)) {}
    ~FileSource() override { close(); }

    CallResult init(std::string_view) override {
        if (o_.path.empty()) {
            fd_ = STDIN_FILENO;
            return {};
        }
        fd_ = ::open(o_.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) {
            return io_error(fmt::format("cannot open {}: {}", shown_, std::strerror(errno)),
                            GuestErrorKind::fatal);
        }
        return {};
    }
    CallResult teardown() override { return {}; }
    void close() override {
        if (fd_ > STDIN_FILENO) {
            ::close(fd_);
        }
        fd_ = -1;
    }

    CallResult pull(Produced& out) override {
        out.present = false;
        while (!done_) {
            CallResult r;
            if (cut(out, r)) {
                return r;
            }
            const long got = read_more();
            if (got < 0) {
                return io_error(fmt::format("cannot read {}: {}", shown_, std::strerror(errno)));
            }
            if (got > 0) {
                continue;
            }
            if (!at_eof_) {  // stdin has nothing yet
                return pending(out);
            }
            if (o_.follow) {  // what is appended comes later
                at_eof_ = false;
                return pending(out);
            }
            return end(out);
        }
        return {};
    }

private:
    CallResult pending(Produced& out) {
        out.pending = true;
        out.retry_after = limits::kConnectorPollInterval;
        return {};
    }

    // Reads once, at most one chunk: >0 bytes read, 0 nothing now (at_eof_
    // says whether the input ended), <0 an error.
    long read_more() {
        if (pos_ > 0) {
            buf_.erase(0, pos_);
            consumed_ += pos_;
            pos_ = 0;
        }
        if (fd_ == STDIN_FILENO) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 0) == 0) {
                return 0;  // at_eof_ stays false: pending
            }
        }
        const std::size_t old = buf_.size();
        buf_.resize(old + limits::kConnectorIoChunk);
        ssize_t n = 0;
        do {
            n = ::read(fd_, buf_.data() + old, limits::kConnectorIoChunk);
        } while (n < 0 && errno == EINTR);
        buf_.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
        at_eof_ = n == 0;
        return n;
    }

    // The input ended: a last line without '\n' is a line; a frame cut
    // short is an error.
    CallResult end(Produced& out) {
        done_ = true;
        const std::size_t left = buf_.size() - pos_;
        if (o_.format == Format::lines && left > 0 && !skipping_) {
            emit(out, pos_, left);
            pos_ = buf_.size();
            return {};
        }
        if (o_.format == Format::frames && (left > 0 || skip_left_ > 0)) {
            CallResult r = CallResult::guest(
                GuestErrorKind::invalid_input,
                fmt::format("{} ends inside frame {} ({} bytes of it left unread)", shown_,
                            count_ + 1, skip_left_ > 0 ? skip_left_ : left));
            r.code = static_cast<std::uint16_t>(ErrorCode::connector_truncated);
            return r;
        }
        return {};
    }

    // Takes the next element (or the next error) from the buffer; false
    // when more must be read first.
    bool cut(Produced& out, CallResult& r) {
        return o_.format == Format::lines ? cut_line(out, r) : cut_frame(out, r);
    }

    bool cut_line(Produced& out, CallResult& r) {
        if (skipping_) {  // the rest of an oversized line
            const auto nl = buf_.find('\n', pos_);
            if (nl == std::string::npos) {
                pos_ = buf_.size();
                return false;
            }
            pos_ = nl + 1;
            skipping_ = false;
        }
        const auto nl = buf_.find('\n', pos_);
        const std::size_t len = (nl == std::string::npos ? buf_.size() : nl) - pos_;
        if (len > o_.max_line) {
            r = oversized("line", len, nl == std::string::npos, o_.max_line, "max-line-bytes");
            skipping_ = nl == std::string::npos;
            pos_ = skipping_ ? buf_.size() : nl + 1;
            return true;
        }
        if (nl == std::string::npos) {
            return false;
        }
        emit(out, pos_, len);
        pos_ = nl + 1;
        return true;
    }

    bool cut_frame(Produced& out, CallResult& r) {
        if (skip_left_ > 0) {  // the rest of an oversized frame
            const std::size_t take = std::min<std::uint64_t>(skip_left_, buf_.size() - pos_);
            pos_ += take;
            skip_left_ -= take;
            if (skip_left_ > 0) {
                return false;
            }
        }
        if (buf_.size() - pos_ < 4) {
            return false;
        }
        const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
        const std::uint64_t len = (std::uint64_t{p[0]} << 24) | (std::uint64_t{p[1]} << 16) |
                                  (std::uint64_t{p[2]} << 8) | std::uint64_t{p[3]};
        if (len > o_.max_frame) {
            r = oversized("frame", len, false, o_.max_frame, "max-frame-bytes");
            pos_ += 4;
            skip_left_ = len;
            return true;
        }
        if (buf_.size() - pos_ < 4 + len) {
            return false;
        }
        emit(out, pos_ + 4, len);
        pos_ += 4 + len;
        return true;
    }

    CallResult oversized(std::string_view what, std::uint64_t len, bool at_least, std::uint64_t max,
                         std::string_view key) {
        ++count_;
        CallResult r = CallResult::guest(
            GuestErrorKind::invalid_input,
            fmt::format("{} {} of {} has {}{} bytes, more than {} = {}; it was not read", what,
                        count_, shown_, at_least ? "over " : "", len, key, max));
        r.code = static_cast<std::uint16_t>(ErrorCode::connector_oversized);
        return r;
    }

    void emit(Produced& out, std::size_t at, std::size_t len) {
        ++count_;
        out.present = true;
        out.sequence = emitted_++;
        // Where it came from, for the components it reaches (docs/connectors.md).
        out.attributes = {
            {"file.path", o_.path.empty() ? std::string("-") : o_.path},
            {o_.format == Format::lines ? "file.line" : "file.frame", std::to_string(count_)},
            {"file.offset", std::to_string(consumed_ + at)},
        };
        out.payload = host_.buffers->make_host_buffer(
            {reinterpret_cast<const std::byte*>(buf_.data() + at), len},
            o_.format == Format::lines ? "text/plain" : "application/octet-stream", nullptr);
    }

    NodeHost& host_;
    FileOptions o_;
    std::string shown_;  // the file's name in messages
    int fd_ = -1;
    std::string buf_;             // read, not yet cut: at most one element and one chunk
    std::uint64_t consumed_ = 0;  // the input's bytes before buf_
    std::size_t pos_ = 0;         // where the next element starts in buf_
    bool at_eof_ = false;
    bool done_ = false;
    bool skipping_ = false;        // inside an oversized line
    std::uint64_t skip_left_ = 0;  // bytes of an oversized frame still to skip
    std::uint64_t count_ = 0;      // lines or frames seen, for messages
    std::uint64_t emitted_ = 0;
};

// --- sink ------------------------------------------------------------------

// Writes all of `data`; false with errno set when it could not. Writing to
// a closed pipe (stdout read by a process that left) is EPIPE, not a
// process-ending SIGPIPE: the signal is blocked on this thread for the write
// and the one it raised is taken.
bool write_all(int fd, const char* data, std::size_t size) {
    sigset_t pipe;
    sigset_t old;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old);
    bool ok = true;
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ok = false;
            break;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    const int saved = errno;
    if (!ok && saved == EPIPE) {
        const timespec none{0, 0};
        sigtimedwait(&pipe, nullptr, &none);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return ok;
}

class FileSink final : public BatchSink {
public:
    FileSink(NodeHost& host, FileOptions o, std::string shown)
        : host_(host), o_(std::move(o)), shown_(std::move(shown)) {}
    ~FileSink() override { close(); }

    CallResult init(std::string_view) override {
        if (o_.path.empty()) {
            fd_ = STDOUT_FILENO;
            return {};
        }
        const int how = O_WRONLY | O_CREAT | O_CLOEXEC | (o_.append ? O_APPEND : O_TRUNC);
        fd_ = ::open(o_.path.c_str(), how, 0644);
        if (fd_ < 0) {
            return io_error(
                fmt::format("cannot open {} for writing: {}", shown_, std::strerror(errno)),
                GuestErrorKind::fatal);
        }
        return {};
    }
    [[nodiscard]] std::size_t batch_limit() const override { return limits::kMaxBatch; }

    // Gathers elements into one write of at most a chunk (a larger payload
    // is written on its own); a failed write fails the elements it held.
    CallResult push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                          bool& pause) override {
        pause = false;
        std::size_t first = 0;  // the first element in pending_
        for (std::size_t i = 0; i < in.size(); ++i) {
            std::span<const std::byte> b;
            host_.buffers->bytes(in[i].payload, 0, ~0ull, &b);
            if (o_.format == Format::frames && b.size() > 0xFFFF'FFFFull) {
                each[i] = io_error(fmt::format("a {}-byte payload does not fit a frame's 4-byte "
                                               "length",
                                               b.size()),
                                   GuestErrorKind::invalid_input);
                continue;
            }
            if (pending_.size() + b.size() + 5 > limits::kConnectorIoChunk) {
                flush(first, i, each);
                first = i;
            }
            if (o_.format == Format::frames) {
                const auto n = static_cast<std::uint32_t>(b.size());
                const char prefix[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                        static_cast<char>(n >> 8), static_cast<char>(n)};
                pending_.append(prefix, 4);
            }
            pending_.append(reinterpret_cast<const char*>(b.data()), b.size());
            if (o_.format == Format::lines) {
                pending_ += '\n';
            }
            each[i] = {};
        }
        flush(first, in.size(), each);
        return {};
    }
    CallResult complete() override {
        if (fd_ > STDOUT_FILENO && ::fdatasync(fd_) != 0 && errno != EINVAL) {
            return io_error(fmt::format("cannot sync {}: {}", shown_, std::strerror(errno)));
        }
        return {};
    }
    CallResult teardown() override { return {}; }
    void close() override {
        if (fd_ > STDOUT_FILENO) {
            ::close(fd_);
        }
        fd_ = -1;
    }

private:
    // Writes what elements [from, to) put in pending_; on failure they fail.
    void flush(std::size_t from, std::size_t to, std::span<CallResult> each) {
        if (pending_.empty()) {
            return;
        }
        if (!write_all(fd_, pending_.data(), pending_.size())) {
            const std::string why =
                fmt::format("cannot write to {}: {}", shown_, std::strerror(errno));
            for (std::size_t i = from; i < to; ++i) {
                if (each[i].ok()) {
                    each[i] = io_error(why);
                }
            }
        }
        pending_.clear();
    }

    NodeHost& host_;
    FileOptions o_;
    std::string shown_;
    int fd_ = -1;
    std::string pending_;  // at most one chunk between two writes
};

// --- the rows --------------------------------------------------------------

Result<FileOptions> options_of(const NodeSpec& node, Stream stream) {
    return read_checked(
        [&](std::vector<Error>& errors) { return read_options(node, errors, stream); });
}

}  // namespace

void check_file(const NodeSpec& node, std::vector<Error>& errors) {
    read_options(node, errors, Stream::file);
}
void check_stdin(const NodeSpec& node, std::vector<Error>& errors) {
    read_options(node, errors, Stream::stdio);
}
void check_stdout(const NodeSpec& node, std::vector<Error>& errors) {
    read_options(node, errors, Stream::stdio);
}

Result<std::string> probe_file(const NodeSpec& node, const fs::path& base) {
    auto o = options_of(node, Stream::file);
    if (!o) {
        return std::move(o).error();
    }
    const fs::path file = resolve(o->path, base);
    std::error_code ec;
    if (node.role == Role::source) {
        if (!fs::exists(file, ec)) {
            return unavailable(node, fmt::format("{} does not exist", file.string()),
                               "create it, or fix 'path' (relative paths start at the manifest's "
                               "folder)");
        }
        if (fs::is_directory(file, ec) || ::access(file.c_str(), R_OK) != 0) {
            return unavailable(node, fmt::format("{} is not a readable file", file.string()),
                               "give the path of a file this user can read");
        }
        return fmt::format("reads {} ({}{})", file.string(), format_name(o->format),
                           o->follow ? ", follow" : "");
    }
    const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
    const bool exists = fs::exists(file, ec);
    if (exists ? (fs::is_directory(file, ec) || ::access(file.c_str(), W_OK) != 0)
               : (!fs::is_directory(dir, ec) || ::access(dir.c_str(), W_OK | X_OK) != 0)) {
        return unavailable(node,
                           fmt::format("{} cannot be written{}", file.string(),
                                       exists ? "" : fmt::format(" (in {})", dir.string())),
                           "give a path in a folder this user can write");
    }
    return fmt::format("writes {} ({}, {})", file.string(), format_name(o->format),
                       o->append ? "append" : "truncate");
}

Result<std::string> probe_stdio(const NodeSpec& node, const fs::path&) {
    auto o = options_of(node, Stream::stdio);
    if (!o) {
        return std::move(o).error();
    }
    return fmt::format("{} standard {} ({})", node.role == Role::source ? "reads" : "writes",
                       node.role == Role::source ? "input" : "output", format_name(o->format));
}

Result<std::unique_ptr<Stage>> make_file(StageSlot& slot, const fs::path& base) {
    auto o = options_of(slot.node, Stream::file);
    if (!o) {
        return std::move(o).error();
    }
    o->path = resolve(o->path, base).string();
    std::string shown = o->path;
    if (slot.node.role == Role::source) {
        return std::unique_ptr<Stage>(
            std::make_unique<FileSource>(slot.host, std::move(o).value(), std::move(shown)));
    }
    return std::unique_ptr<Stage>(
        std::make_unique<FileSink>(slot.host, std::move(o).value(), std::move(shown)));
}

Result<std::unique_ptr<Stage>> make_stdin(StageSlot& slot, const fs::path&) {
    auto o = options_of(slot.node, Stream::stdio);
    if (!o) {
        return std::move(o).error();
    }
    return std::unique_ptr<Stage>(
        std::make_unique<FileSource>(slot.host, std::move(o).value(), "standard input"));
}

Result<std::unique_ptr<Stage>> make_stdout(StageSlot& slot, const fs::path&) {
    auto o = options_of(slot.node, Stream::stdio);
    if (!o) {
        return std::move(o).error();
    }
    return std::unique_ptr<Stage>(
        std::make_unique<FileSink>(slot.host, std::move(o).value(), "standard output"));
}

}  // namespace torvyn::connectors
