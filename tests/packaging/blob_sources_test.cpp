// The record of where blobs are (mount sources for torvyn publish): bounded,
// kept across runs, and only ever naming what could have been written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "torvyn/packaging/blob_sources.hpp"

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
    const fs::path dir = fs::path(TORVYN_TEST_TMP_DIR) / "blob-sources" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::string digest(int n) {
    return fmt::format("sha256:{:064x}", n);
}

TEST(BlobSources, FindsAnotherRepositoryOfTheSameRegistryNewestFirst) {
    auto s = BlobSources::open(fresh_dir("find"));
    s.add(digest(1), "127.0.0.1:5000", "demo/a");
    s.add(digest(1), "127.0.0.1:5000", "demo/b");
    s.add(digest(1), "other.example:443", "demo/c");
    EXPECT_EQ(s.find(digest(1), "127.0.0.1:5000", "demo/x"), "demo/b");
    EXPECT_EQ(s.find(digest(1), "127.0.0.1:5000", "demo/b"), "demo/a");
    EXPECT_EQ(s.find(digest(1), "other.example:443", "demo/c"), "");
    EXPECT_EQ(s.find(digest(2), "127.0.0.1:5000", "demo/x"), "");
    s.add(digest(1), "127.0.0.1:5000", "demo/a");  // seen again: now the newest
    EXPECT_EQ(s.find(digest(1), "127.0.0.1:5000", "demo/x"), "demo/a");
}

TEST(BlobSources, IsKeptAcrossRunsAndBounded) {
    const fs::path dir = fresh_dir("kept");
    {
        auto s = BlobSources::open(dir);
        for (std::size_t i = 0; i < BlobSources::kMaxRecords + 10; ++i) {
            s.add(digest(static_cast<int>(i)), "127.0.0.1:5000", "demo/a");
        }
        EXPECT_EQ(s.size(), BlobSources::kMaxRecords);
        ASSERT_FALSE(s.save());
    }
    auto s = BlobSources::open(dir);
    EXPECT_EQ(s.size(), BlobSources::kMaxRecords);
    EXPECT_LE(fs::file_size(s.file()), BlobSources::kMaxFileBytes);
    EXPECT_EQ(s.find(digest(9), "127.0.0.1:5000", "demo/b"), "");  // the oldest went first
    EXPECT_EQ(s.find(digest(10), "127.0.0.1:5000", "demo/b"), "demo/a");
    EXPECT_TRUE(fs::exists(dir / "torvyn" / "blob-sources.json"));
}

TEST(BlobSources, ReadsOnlyWhatCouldHaveBeenWritten) {
    const fs::path dir = fresh_dir("invalid");
    fs::create_directories(dir / "torvyn");
    std::ofstream(dir / "torvyn" / "blob-sources.json")
        << R"({"version":1,"blobs":[)"
        << R"({"digest":"sha256:abc","host":"127.0.0.1:5000","repository":"demo/a"},)"
        << R"({"digest":")" << digest(1)
        << R"(","host":"127.0.0.1:5000","repository":"demo/a&from=evil"},)"
        << R"({"digest":")" << digest(1) << R"(","host":"127.0.0.1:5000/x","repository":"demo/a"},)"
        << R"({"digest":")" << digest(1) << R"(","host":"127.0.0.1:5000","repository":7},)"
        << R"({"digest":")" << digest(1) << R"(","host":"127.0.0.1:5000","repository":"ok/one"},)"
        << R"(42]})";
    auto s = BlobSources::open(dir);
    EXPECT_EQ(s.size(), 1U);
    EXPECT_EQ(s.find(digest(1), "127.0.0.1:5000", "demo/b"), "ok/one");

    std::ofstream(dir / "torvyn" / "blob-sources.json") << "{not json";
    EXPECT_EQ(BlobSources::open(dir).size(), 0U);
    std::ofstream(dir / "torvyn" / "blob-sources.json")
        << std::string(BlobSources::kMaxFileBytes + 1, ' ');
    EXPECT_EQ(BlobSources::open(dir).size(), 0U);
}

}  // namespace
}  // namespace torvyn::oci
