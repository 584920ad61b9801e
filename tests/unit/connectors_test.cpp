// The file, stdin and stdout connectors as stages of real flows (the
// scheduler, no Wasm engine): what they read and write, their limits under
// the node's error policy, follow mode, and their settings' checks.
#include "torvyn/connectors/connectors.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "../thread_cpu.hpp"
#include "native_stages.hpp"

namespace torvyn {
namespace {

namespace fs = std::filesystem;
using testing::CountingSource;
using testing::RecordingSink;

fs::path temp_dir(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("torvyn-connectors-" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void write_file(const fs::path& p, const std::string& bytes, bool append = false) {
    std::ofstream out(p, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
    out << bytes;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string frame(const std::string& payload) {
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
    return out + payload;
}

ManifestLoad parse(const std::string& toml, const fs::path& dir = "/tmp") {
    return parse_manifest(toml, dir / "Torvyn.toml", &connector_node_kinds());
}

// A flow of `src` -> `out`, either of which may be a connector; the other
// is a native test stage (CountingSource of 5, RecordingSink).
class ConnectorFlow {
public:
    ConnectorFlow(std::string src, std::string out, fs::path dir, std::string flow_extra = "")
        : dir_(std::move(dir)) {
        toml_ = "[flow.t]\n" + flow_extra + "[flow.t.nodes.src]\n" + src +
                "\n[flow.t.nodes.out]\n" + out +
                "\n[[flow.t.edges]]\nfrom = \"src\"\nto = \"out\"\n";
    }

    FlowReport run(RunOptions options = {}, const std::function<void()>& during = {}) {
        const ManifestLoad m = parse(toml_, dir_);
        if (!m.ok()) {
            throw std::runtime_error(m.errors.front().format());
        }
        spec_ = m.manifest.flows.at(0);
        auto flow =
            Flow::create(spec_, options, [&](StageSlot& slot) -> Result<std::unique_ptr<Stage>> {
                Result<std::unique_ptr<Stage>> made =
                    slot.node.is_connector() ? make_connector_stage(slot, dir_)
                    : slot.node.role == Role::source
                        ? Result<std::unique_ptr<Stage>>(
                              std::make_unique<CountingSource>(slot.host, 5))
                        : Result<std::unique_ptr<Stage>>(
                              std::make_unique<RecordingSink>(slot.host));
                if (made) {
                    stages_[slot.node.name] = made.value().get();
                }
                return made;
            });
        if (!flow) {
            throw std::runtime_error(flow.error().format());
        }
        flow_ = std::move(flow).value();
        std::thread side;
        if (during) {
            side = std::thread(during);
        }
        FlowReport r = flow_->run();
        if (side.joinable()) {
            side.join();
        }
        return r;
    }
    RecordingSink& sink() { return dynamic_cast<RecordingSink&>(*stages_.at("out")); }

private:
    fs::path dir_;
    std::string toml_;
    FlowSpec spec_;
    std::map<std::string, Stage*> stages_;
    std::unique_ptr<Flow> flow_;
};

const std::string kRecorder = "component = \"x\"\nrole = \"sink\"\n";
const std::string kCounter = "component = \"x\"\nrole = \"source\"\n";

std::string file_source(const std::string& extra) {
    return "kind = \"file\"\nrole = \"source\"\npath = \"in.txt\"\n" + extra;
}

std::uint64_t errors_with(const NodeReport& n, ErrorCode code) {
    for (const auto& [c, count] : n.errors_by_code) {
        if (c == code) {
            return count;
        }
    }
    return 0;
}

TEST(ConnectorFile, SourceReadsLinesAndAPartialLastLine) {
    const fs::path dir = temp_dir("lines");
    write_file(dir / "in.txt", "alpha\nbeta\n\ngamma");
    ConnectorFlow f(file_source(""), kRecorder, dir);
    const FlowReport r = f.run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(f.sink().payloads, (std::vector<std::string>{"alpha", "beta", "", "gamma"}));
    EXPECT_EQ(r.emitted, 4u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST(ConnectorFile, SourceReadsLinesLongerThanOneRead) {
    // A line across several reads of 64 KiB is still one element.
    const fs::path dir = temp_dir("long");
    const std::string big(200'000, 'x');
    write_file(dir / "in.txt", "a\n" + big + "\nb\n");
    ConnectorFlow f(file_source(""), kRecorder, dir);
    const FlowReport r = f.run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    ASSERT_EQ(f.sink().payloads.size(), 3u);
    EXPECT_EQ(f.sink().payloads[1], big);
    EXPECT_EQ(f.sink().payloads[2], "b");
}

TEST(ConnectorFile, SourceReadsFrames) {
    const fs::path dir = temp_dir("frames");
    const std::string binary("\0\n\xff", 3);
    write_file(dir / "in.txt", frame("one") + frame("") + frame(binary) + frame("four\nlines"));
    ConnectorFlow f(file_source("format = \"frames\"\n"), kRecorder, dir);
    const FlowReport r = f.run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(f.sink().payloads, (std::vector<std::string>{"one", "", binary, "four\nlines"}));
}

TEST(ConnectorFile, OversizedLinesAreSkippedAndCounted) {
    // Under on-error = "skip" a line over max-line-bytes is an E0904 error
    // of the node; the lines around it go on. One is longer than a read, so
    // it is skipped across reads, never held whole.
    const fs::path dir = temp_dir("oversized");
    write_file(dir / "in.txt", "short\n" + std::string(100, 'y') + "\nnext\n" +
                                   std::string(300'000, 'z') + "\nend\n");
    ConnectorFlow f(file_source("max-line-bytes = 16\non-error = \"skip\"\n"), kRecorder, dir);
    const FlowReport r = f.run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(f.sink().payloads, (std::vector<std::string>{"short", "next", "end"}));
    EXPECT_EQ(errors_with(r.nodes[0], ErrorCode::connector_oversized), 2u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(ConnectorFile, OversizedLineFailsTheFlowByDefault) {
    const fs::path dir = temp_dir("oversized-fail");
    write_file(dir / "in.txt", "ok\n" + std::string(40, 'y') + "\n");
    ConnectorFlow f(file_source("max-line-bytes = \"16B\"\n"), kRecorder, dir);
    const FlowReport r = f.run();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::connector_oversized);
    EXPECT_NE(r.error->message.find("line 2 of"), std::string::npos) << r.error->message;
    EXPECT_NE(r.error->message.find("40 bytes, more than max-line-bytes = 16"), std::string::npos)
        << r.error->message;
}

TEST(ConnectorFile, OversizedAndTruncatedFrames) {
    const fs::path dir = temp_dir("frames-bad");
    write_file(dir / "in.txt",
               frame("a") + frame(std::string(100, 'q')) + frame("b") + frame("cut").substr(0, 6));
    ConnectorFlow f(file_source("format = \"frames\"\nmax-frame-bytes = 8\non-error = \"skip\"\n"),
                    kRecorder, dir);
    const FlowReport r = f.run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(f.sink().payloads, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(errors_with(r.nodes[0], ErrorCode::connector_oversized), 1u);
    EXPECT_EQ(errors_with(r.nodes[0], ErrorCode::connector_truncated), 1u);
}

TEST(ConnectorFile, FollowReadsAppendedLinesUntilAGracefulStop) {
    const fs::path dir = temp_dir("follow");
    write_file(dir / "in.txt", "first\n");
    std::atomic<int> stop{0};
    RunOptions options;
    options.stop = &stop;
    ConnectorFlow f(file_source("follow = true\n"), kRecorder, dir);
    const auto cpu0 = testing::thread_cpu();
    const auto t0 = std::chrono::steady_clock::now();
    const FlowReport r = f.run(options, [&] {
        for (int i = 0; i < 5; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            // A line written in two parts is one element.
            write_file(dir / "in.txt", "appended ", true);
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            write_file(dir / "in.txt", std::to_string(i) + "\n", true);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        stop.store(static_cast<int>(StopRequest::graceful));
    });
    const auto wall = std::chrono::steady_clock::now() - t0;
    const auto cpu = testing::thread_cpu() - cpu0;
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(f.sink().payloads,
              (std::vector<std::string>{"first", "appended 0", "appended 1", "appended 2",
                                        "appended 3", "appended 4"}));
    EXPECT_TRUE(f.sink().completed);
    EXPECT_TRUE(r.accounting_balanced());
    // It waited for the appends without spinning.
    EXPECT_GE(wall, std::chrono::milliseconds(300));
    EXPECT_LT(cpu, wall / 4);
}

TEST(ConnectorFile, SinkTruncatesOrAppends) {
    const fs::path dir = temp_dir("sink");
    write_file(dir / "out.txt", "old\n");
    ConnectorFlow truncate(kCounter, "kind = \"file\"\nrole = \"sink\"\npath = \"out.txt\"\n", dir);
    ASSERT_TRUE(truncate.run().ok());
    EXPECT_EQ(read_file(dir / "out.txt"), "0\n1\n2\n3\n4\n");
    ConnectorFlow append(
        kCounter, "kind = \"file\"\nrole = \"sink\"\npath = \"out.txt\"\nmode = \"append\"\n", dir);
    const FlowReport r = append.run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 5u);
    EXPECT_EQ(read_file(dir / "out.txt"), "0\n1\n2\n3\n4\n0\n1\n2\n3\n4\n");
}

TEST(ConnectorFile, SinkWritesFramesThatTheSourceReadsBack) {
    const fs::path dir = temp_dir("sink-frames");
    ConnectorFlow out(
        kCounter, "kind = \"file\"\nrole = \"sink\"\npath = \"f.bin\"\nformat = \"frames\"\n", dir);
    ASSERT_TRUE(out.run().ok());
    EXPECT_EQ(read_file(dir / "f.bin"),
              frame("0") + frame("1") + frame("2") + frame("3") + frame("4"));
    ConnectorFlow back(
        "kind = \"file\"\nrole = \"source\"\npath = \"f.bin\"\nformat = \"frames\"\n", kRecorder,
        dir);
    ASSERT_TRUE(back.run().ok());
    EXPECT_EQ(back.sink().payloads, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST(ConnectorFile, SinkThatCannotOpenItsFileFailsClearly) {
    // A folder this process cannot write (root writes anywhere but in /sys).
    fs::path dir = temp_dir("readonly");
    fs::path target = dir / "locked" / "out.txt";
    if (::geteuid() == 0) {
        target = "/sys/torvyn-connector-test.txt";
    } else {
        fs::create_directories(dir / "locked");
        fs::permissions(dir / "locked", fs::perms::owner_read | fs::perms::owner_exec);
    }
    ConnectorFlow f(kCounter,
                    "kind = \"file\"\nrole = \"sink\"\npath = \"" + target.string() + "\"\n", dir);
    const FlowReport r = f.run();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error->message.find("cannot open " + target.string() + " for writing"),
              std::string::npos)
        << r.error->format();
    EXPECT_EQ(r.delivered, 0u);
}

TEST(ConnectorFile, WriteErrorsFailTheirElements) {
    // /dev/full refuses every write (ENOSPC): each element fails, counted,
    // and under skip the flow completes.
    const fs::path dir = temp_dir("full");
    ConnectorFlow f(kCounter,
                    "kind = \"file\"\nrole = \"sink\"\npath = \"/dev/full\"\nmode = \"append\"\n"
                    "on-error = \"skip\"\n",
                    dir);
    const FlowReport r = f.run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.failed, 5u);
    EXPECT_EQ(r.delivered, 0u);
    EXPECT_GE(errors_with(r.nodes[1], ErrorCode::connector_io), 1u);
    ASSERT_FALSE(r.failures.empty());
    EXPECT_NE(r.failures.front().error.message.find("cannot write to /dev/full: No space left"),
              std::string::npos)
        << r.failures.front().error.message;
}

// --- settings -------------------------------------------------------------

std::vector<std::string> errors_of(const std::string& node) {
    const ManifestLoad m = parse("[flow.t]\n[flow.t.nodes.a]\n" + node +
                                 "\n[flow.t.nodes.b]\ncomponent = \"x\"\nrole = \"processor\"\n"
                                 "[flow.t.nodes.c]\ncomponent = \"x\"\nrole = \"sink\"\n"
                                 "[[flow.t.edges]]\nfrom = \"a\"\nto = \"b\"\n"
                                 "[[flow.t.edges]]\nfrom = \"b\"\nto = \"c\"\n");
    std::vector<std::string> out;
    for (const auto& e : m.errors) {
        out.push_back(e.format());
    }
    return out;
}

TEST(ConnectorSettings, AGoodSourceHasNoErrors) {
    EXPECT_EQ(errors_of(file_source("follow = true\nmax-line-bytes = \"4KiB\"\n")),
              std::vector<std::string>{});
    EXPECT_EQ(errors_of("kind = \"stdin\"\nformat = \"frames\""), std::vector<std::string>{});
}

TEST(ConnectorSettings, EveryProblemAtItsPlace) {
    const auto errors = errors_of(
        "kind = \"file\"\nrole = \"source\"\npath = 3\nfolow = true\nformat = \"line\"\n"
        "max-line-bytes = \"1GiB\"\nmode = \"append\"\nfuel = 10");
    ASSERT_EQ(errors.size(), 6u) << ::testing::PrintToString(errors);
    EXPECT_EQ(errors[0],
              "error[E0900] /tmp/Torvyn.toml:5:8: 'path' of node 'a' (kind = \"file\") "
              "must be a non-empty string");
    EXPECT_NE(errors[1].find("error[E0900] /tmp/Torvyn.toml:6:9: unknown setting 'folow'"),
              std::string::npos);
    EXPECT_NE(errors[1].find("did you mean 'follow'?"), std::string::npos) << errors[1];
    EXPECT_NE(errors[2].find("7:10: invalid 'format'"), std::string::npos) << errors[2];
    EXPECT_NE(errors[2].find("did you mean 'lines'? one of: lines, frames"), std::string::npos);
    EXPECT_NE(errors[3].find("8:18: 'max-line-bytes' of node 'a' (kind = \"file\") must be a size"),
              std::string::npos)
        << errors[3];
    EXPECT_NE(errors[4].find("9:8: 'mode' is not a setting of node 'a' (kind = \"file\") as a "
                             "source"),
              std::string::npos)
        << errors[4];
    EXPECT_NE(errors[5].find("error[E0102] /tmp/Torvyn.toml:10:8: 'fuel' is for component nodes"),
              std::string::npos)
        << errors[5];
}

TEST(ConnectorSettings, KindsAndRoles) {
    auto e = errors_of("kind = \"stdout\"\nrole = \"source\"");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].find("error[E0901] /tmp/Torvyn.toml:3:8: node 'a': a stdout connector cannot be "
                        "a source; it is a sink"),
              std::string::npos)
        << e[0];
    EXPECT_NE(e[0].find("hint: use kind = \"stdin\" for a source"), std::string::npos);
    e = errors_of("kind = \"fiel\"\nrole = \"source\"");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].find("3:8: unknown connector kind 'fiel'"), std::string::npos) << e[0];
    EXPECT_NE(e[0].find("did you mean 'file'? kinds: file, stdin, stdout"), std::string::npos);
    e = errors_of("kind = \"stdin\"\ncomponent = \"x.wasm\"");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].find("error[E0102] /tmp/Torvyn.toml:4:13: node 'a' has both 'component' and "
                        "'kind'"),
              std::string::npos)
        << e[0];
    // A file has two roles: the node says which (the flow's shape is
    // wrong then too).
    e = errors_of("kind = \"file\"\npath = \"x\"");
    ASSERT_GE(e.size(), 1u);
    EXPECT_NE(e[0].find("E0102] /tmp/Torvyn.toml:2:1: node 'a' is missing required key 'role'"),
              std::string::npos)
        << e[0];
}

TEST(ConnectorSettings, LinkChecksWithoutConsuming) {
    const fs::path dir = temp_dir("probe");
    write_file(dir / "in.txt", "x\n");
    const auto node = [&](const std::string& text) {
        const ManifestLoad m = parse("[flow.t]\n[flow.t.nodes.a]\n" + text +
                                         "\n[flow.t.nodes.c]\ncomponent = \"x\"\nrole = \"sink\"\n"
                                         "[[flow.t.edges]]\nfrom = \"a\"\nto = \"c\"\n",
                                     dir);
        // A lone sink is a topology error; its settings are what is tested.
        for (const auto& e : m.errors) {
            EXPECT_EQ(e.code, ErrorCode::manifest_topology) << e.format();
        }
        return m.manifest.flows.at(0).nodes.at(0);
    };
    auto ok = probe_connector(node(file_source("")), dir);
    ASSERT_TRUE(ok.ok()) << ok.error().format();
    EXPECT_EQ(ok.value(), "reads " + (dir / "in.txt").string() + " (lines)");
    EXPECT_EQ(read_file(dir / "in.txt"), "x\n");
    auto missing = probe_connector(
        node("kind = \"file\"\nrole = \"source\"\npath = \"nope.txt\"\nfollow = true"), dir);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::connector_unavailable);
    EXPECT_NE(missing.error().message.find("nope.txt does not exist"), std::string::npos);
    auto nowhere =
        probe_connector(node("kind = \"file\"\nrole = \"sink\"\npath = \"no/such/out.txt\""), dir);
    ASSERT_FALSE(nowhere.ok());
    EXPECT_EQ(nowhere.error().code, ErrorCode::connector_unavailable);
    EXPECT_FALSE(fs::exists(dir / "no"));
    auto out = probe_connector(node("kind = \"stdout\""), dir);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out.value(), "writes standard output (lines)");
}

}  // namespace
}  // namespace torvyn

namespace torvyn {
namespace {

TEST(ConnectorSettings, BrokerNodesTakeLargeBatchesUnlessTheyAskOtherwise) {
    const ManifestLoad m = parse(
        "[flow.t]\n"
        "[flow.t.nodes.in]\nkind = \"kafka\"\nrole = \"source\"\nbootstrap = \"h:1\"\n"
        "topic = \"a\"\ngroup = \"g\"\n"
        "[flow.t.nodes.file]\nkind = \"file\"\nrole = \"sink\"\npath = \"x\"\n"
        "[flow.t.nodes.out]\nkind = \"nats-jetstream\"\nrole = \"sink\"\nsubject = \"o\"\n"
        "batch = 8\n"
        "[[flow.t.edges]]\nfrom = \"in\"\nto = \"file\"\n"
        "[[flow.t.edges]]\nfrom = \"in\"\nto = \"out\"\n");
    ASSERT_TRUE(m.ok()) << m.errors.front().format();
    std::map<std::string, std::uint32_t> batch;
    for (const NodeSpec& n : m.manifest.flows.at(0).nodes) {
        batch[n.name] = n.batch;
    }
    EXPECT_EQ(batch["in"], 512u);   // a broker node
    EXPECT_EQ(batch["file"], 16u);  // the usual
    EXPECT_EQ(batch["out"], 8u);    // as written
}

}  // namespace
}  // namespace torvyn
