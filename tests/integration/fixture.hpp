// Shared fixture: one Runtime for the suite, manifests written to a temp dir,
// components from the build tree.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/engine/engine.hpp"
#include "torvyn/reactor/flow.hpp"

namespace torvyn::testing {

namespace fs = std::filesystem;

// Manifest fragments, so tests state flows in a line each.
inline std::string toml_source(const std::string& flow, const std::string& name,
                               const std::string& component, const std::string& config) {
    return "[flow." + flow + ".nodes." + name + "]\ncomponent = \"" + component +
           "\"\nrole = \"source\"\nconfig = \"" + config + "\"\n";
}

inline std::string toml_node(const std::string& flow, const std::string& name,
                             const std::string& component, const std::string& role,
                             const std::string& extra = "") {
    return "[flow." + flow + ".nodes." + name + "]\ncomponent = \"" + component + "\"\nrole = \"" +
           role + "\"\n" + extra;
}

inline std::string toml_edge(const std::string& flow, const std::string& from,
                             const std::string& to, const std::string& extra = "") {
    return "[[flow." + flow + ".edges]]\nfrom = \"" + from + "\"\nto = \"" + to + "\"\n" + extra;
}

// A TCP listener on 127.0.0.1 with a kernel-chosen port; closed on scope
// exit. Connections complete (the kernel accepts them) but nobody reads or
// writes. With `full`, its backlog is filled first, so that a further
// connect never completes.
class Listener {
public:
    explicit Listener(bool full = false) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd_, full ? 0 : 64);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        for (int i = 0; full && i < 4; ++i) {
            const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
            fillers_.push_back(c);
        }
    }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    ~Listener() {
        for (const int c : fillers_) {
            ::close(c);
        }
        ::close(fd_);
    }
    [[nodiscard]] int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
    std::vector<int> fillers_;
};

class FlowTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        RuntimeOptions o;
        o.cache_dir = fs::path(TORVYN_TEST_TMP_DIR) / "compiled";
        auto r = Runtime::create(o);
        ASSERT_TRUE(r.ok()) << r.error().format();
        runtime_ = std::move(r).value().release();
    }
    static void TearDownTestSuite() {
        delete runtime_;
        runtime_ = nullptr;
        delete fuel_runtime_;
        fuel_runtime_ = nullptr;
    }

    // A second engine that meters fuel, for fuel budgets.
    static Runtime& fuel_runtime() {
        if (fuel_runtime_ == nullptr) {
            RuntimeOptions o;
            o.fuel = true;
            fuel_runtime_ = Runtime::create(o).value().release();
        }
        return *fuel_runtime_;
    }

    // Writes `text` as a manifest and parses it.
    static Manifest manifest(const std::string& name, const std::string& text) {
        const fs::path dir = fs::path(TORVYN_TEST_TMP_DIR) / "manifests";
        fs::create_directories(dir);
        const fs::path file = dir / (name + ".toml");
        std::ofstream(file) << text;
        auto m = load_manifest(file);
        EXPECT_TRUE(m.ok()) << (m.errors.empty() ? "" : m.errors.front().format());
        return m.manifest;
    }

    static RunOptions options() {
        RunOptions o;
        o.component_path = {TORVYN_EXAMPLE_COMPONENT_DIR, TORVYN_TEST_COMPONENT_DIR};
        return o;
    }

    static Result<std::unique_ptr<Flow>> create(const Manifest& m, std::size_t flow = 0,
                                                const RunOptions& o = options()) {
        return Flow::create(*runtime_, m, m.flows.at(flow), o);
    }

    // Creates and runs the manifest's first flow; fails the test if the flow
    // cannot be created.
    static FlowReport run(const std::string& name, const std::string& toml,
                          const RunOptions& o = options()) {
        const Manifest m = manifest(name, toml);
        auto flow = create(m, 0, o);
        if (!flow.ok()) {
            ADD_FAILURE() << flow.error().format();
            return {};
        }
        return flow.value()->run();
    }

    static const EdgeReport& edge(const FlowReport& r, std::string_view from, std::string_view to) {
        for (const auto& e : r.edges) {
            if (e.from == from && e.to == to) {
                return e;
            }
        }
        throw std::runtime_error("no edge " + std::string(from) + " -> " + std::string(to));
    }

    static const NodeReport& node(const FlowReport& r, std::string_view name) {
        for (const auto& n : r.nodes) {
            if (n.name == name) {
                return n;
            }
        }
        throw std::runtime_error("no node " + std::string(name));
    }

    static Runtime* runtime_;
    static Runtime* fuel_runtime_;
};

inline Runtime* FlowTest::runtime_ = nullptr;
inline Runtime* FlowTest::fuel_runtime_ = nullptr;

}  // namespace torvyn::testing
