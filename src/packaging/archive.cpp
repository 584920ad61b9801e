#include "torvyn/packaging/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

struct ArchiveWriter {
    archive* a = archive_write_new();
    ~ArchiveWriter() { archive_write_free(a); }
};
struct Entry {
    archive_entry* e = archive_entry_new();
    ~Entry() { archive_entry_free(e); }
};

}  // namespace

std::optional<Error> write_tar(const fs::path& layout, const fs::path& out) {
    std::vector<fs::path> files;
    for (const auto& f : fs::recursive_directory_iterator(layout)) {
        if (f.is_regular_file() && !f.is_symlink()) {
            const auto rel = fs::relative(f.path(), layout);
            if (*rel.begin() != "torvyn") {  // what running it wrote is not part of it
                files.push_back(rel);
            }
        }
    }
    std::sort(files.begin(), files.end());
    const fs::path tmp = out.string() + fmt::format(".{}.tmp", static_cast<long>(::getpid()));
    ArchiveWriter w;
    archive_write_set_format_pax_restricted(w.a);
    const auto fail = [&](std::string_view what) {
        std::error_code ec;
        fs::remove(tmp, ec);
        return Error(ErrorCode::io,
                     fmt::format("cannot write {}: {} ({})", out.string(), what,
                                 archive_error_string(w.a) ? archive_error_string(w.a) : ""),
                     "", "check the path and free space");
    };
    if (archive_write_open_filename(w.a, tmp.c_str()) != ARCHIVE_OK) {
        return fail("open");
    }
    for (const auto& rel : files) {
        std::ifstream in(layout / rel, std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        const std::string bytes = s.str();
        Entry entry;
        archive_entry_set_pathname(entry.e, rel.generic_string().c_str());
        archive_entry_set_filetype(entry.e, AE_IFREG);
        archive_entry_set_perm(entry.e, 0644);
        archive_entry_set_size(entry.e, static_cast<la_int64_t>(bytes.size()));
        archive_entry_set_mtime(entry.e, 0, 0);
        archive_entry_set_uid(entry.e, 0);
        archive_entry_set_gid(entry.e, 0);
        if (archive_write_header(w.a, entry.e) != ARCHIVE_OK ||
            archive_write_data(w.a, bytes.data(), bytes.size()) !=
                static_cast<la_ssize_t>(bytes.size())) {
            return fail(rel.string());
        }
    }
    if (archive_write_close(w.a) != ARCHIVE_OK) {
        return fail("close");
    }
    std::error_code ec;
    fs::rename(tmp, out, ec);
    if (ec) {
        return fail("rename");
    }
    return std::nullopt;
}

}  // namespace torvyn::oci
