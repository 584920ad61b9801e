// Large and foreign components: what the host reads from a component file
// before compiling it (imports, exports, language, what an instance takes
// from the pool), a pool sized from that, the digest index that spares a
// warm start the hashing, and linking that refuses before compiling.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "fixture.hpp"
#include "torvyn/reactor/link.hpp"
#include "torvyn/resources/buffer_store.hpp"
#include "torvyn/resources/copy_ledger.hpp"

namespace torvyn::testing {
namespace {

fs::path example(std::string_view name) {
    return fs::path(TORVYN_EXAMPLE_COMPONENT_DIR) / name;
}
fs::path test_component(std::string_view name) {
    return fs::path(TORVYN_TEST_COMPONENT_DIR) / name;
}

ComponentFacts facts_of(const fs::path& file) {
    auto facts = inspect_component_file(file);
    EXPECT_TRUE(facts.ok()) << facts.error().format();
    return facts.ok() ? std::move(facts).value() : ComponentFacts{};
}

// A fresh, empty directory under the tests' temporary folder.
fs::path fresh_dir(std::string_view name) {
    const fs::path dir = fs::path(TORVYN_TEST_TMP_DIR) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

TEST(ComponentFacts, LanguageIsReadFromTheComponentOfEachToolchain) {
    EXPECT_EQ(facts_of(example("hello_greeter.wasm")).language, "C");
    EXPECT_EQ(facts_of(example("hello_printer.wasm")).language, "C++");
    // Built for wasm32-unknown-unknown: no language field, but the Rust
    // bindings generator that made it says so.
    EXPECT_EQ(facts_of(example("hello_shout_rs.wasm")).language, "Rust");
}

TEST(ComponentFacts, ImportsAndExportsAreTheComponentsTopLevel) {
    const ComponentFacts f = facts_of(test_component("uses_printf.wasm"));
    const auto& imports = f.interfaces.imports;
    const auto has = [](const std::vector<std::string>& v, std::string_view prefix) {
        return std::any_of(v.begin(), v.end(),
                           [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
    };
    EXPECT_TRUE(has(imports, "wasi:filesystem/types@"));
    EXPECT_TRUE(has(imports, "wasi:cli/stdout@"));
    EXPECT_TRUE(has(f.interfaces.exports, "torvyn:streaming/processor@0.1."));
    // The C library's component: its module, the WASI adapter and
    // wit-component's shims, each a core instance.
    EXPECT_GE(f.pool.core_instances, 3u);
    EXPECT_GE(f.pool.memories, 1u);
}

TEST(ComponentFacts, BytesThatAreNoComponentAreRefused) {
    const std::uint8_t core_module[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    auto f = inspect_component(core_module);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code, ErrorCode::component_invalid);
}

// A pool sized from the counts read from the file holds exactly that many
// instances: every instance fits, and one more is refused as a full pool
// (E0403, with its size and how to raise it), not as a trap. Each count is
// checked on its own (the others given room): an undercount fails the first
// half, an overcount the second.
TEST(InstancePool, SizedFromTheComponentsCountsHoldsExactlyThatMany) {
    const fs::path file = test_component("uses_printf.wasm");
    const ComponentFacts facts = facts_of(file);
    constexpr std::uint32_t kInstances = 3;
    struct Binding {
        std::string_view kind;  // as Wasmtime names the pool ("memory stripe 0")
        std::uint32_t PoolUse::*count;
    };
    for (const Binding b :
         {Binding{"core instances", &PoolUse::core_instances},
          Binding{"memory", &PoolUse::memories}, Binding{"tables", &PoolUse::tables}}) {
        SCOPED_TRACE(b.kind);
        RuntimeOptions o;
        o.pool = PoolSize{.component_instances = 0, .use = {}};
        o.pool.add(facts.pool, kInstances);
        const std::uint32_t exact = o.pool.use.*b.count;
        o.pool.add(facts.pool, 10 * kInstances);  // room for everything else ...
        o.pool.use.*b.count = exact;              // ... but this
        auto runtime = Runtime::create(o);
        ASSERT_TRUE(runtime.ok()) << runtime.error().format();
        if (!runtime.value()->options().pooling) {
            GTEST_SKIP() << "no address space for a pool here (the runtime fell back)";
        }
        auto component = runtime.value()->load(file);
        ASSERT_TRUE(component.ok()) << component.error().format();
        Grants grants;
        for (const auto& c : all_capabilities()) {
            grants.cover(c);  // link every WASI import: this is about the pool
        }
        auto prepared = runtime.value()->prepare(component.value(), Role::processor, grants);
        ASSERT_TRUE(prepared.ok()) << prepared.error().format();
        BufferStore buffers;
        CopyLedger ledger;
        FlowContextInfo context{"pool", "0", "0", std::nullopt};
        std::vector<std::unique_ptr<NodeHost>> hosts;
        std::vector<std::unique_ptr<Instance>> live;
        for (std::uint32_t i = 0; i <= kInstances; ++i) {
            hosts.push_back(std::make_unique<NodeHost>());
            hosts.back()->buffers = &buffers;
            hosts.back()->ledger = &ledger;
            hosts.back()->context = &context;
            auto instance = runtime.value()->instantiate(prepared.value(), *hosts.back(), {});
            if (i < kInstances) {
                ASSERT_TRUE(instance.ok()) << "instance " << i << ": " << instance.error().format();
                live.push_back(std::move(instance).value());
                continue;
            }
            ASSERT_FALSE(instance.ok()) << "one more instance than the counts fit";
            const Error& e = instance.error();
            EXPECT_EQ(e.code, ErrorCode::host_pool) << e.format();
            EXPECT_NE(
                e.message.find(fmt::format("maximum concurrent limit of {} for {}", exact, b.kind)),
                std::string::npos)
                << e.message;
            EXPECT_NE(e.hint.find("--no-pool"), std::string::npos);
        }
    }
}

TEST(InstancePool, AManifestNeedsOneInstanceOfEachNodesComponent) {
    const std::string text = toml_source("f", "src", "hello_greeter.wasm", "count=1") +
                             toml_node("f", "a", "uses_printf.wasm", "processor") +
                             toml_node("f", "b", "uses_printf.wasm", "processor") +
                             toml_node("f", "out", "hello_printer.wasm", "sink") +
                             toml_edge("f", "src", "a") + toml_edge("f", "a", "b") +
                             toml_edge("f", "b", "out");
    const fs::path dir = fresh_dir("pool-manifest");
    std::ofstream(dir / "Torvyn.toml") << text;
    auto m = load_manifest(dir / "Torvyn.toml");
    ASSERT_TRUE(m.ok());
    const std::vector<fs::path> path = {TORVYN_EXAMPLE_COMPONENT_DIR, TORVYN_TEST_COMPONENT_DIR};
    const PoolSize need = pool_for(m.manifest, {&m.manifest.flows.front()}, path);
    const PoolUse printf_use = facts_of(test_component("uses_printf.wasm")).pool;
    const PoolUse greeter = facts_of(example("hello_greeter.wasm")).pool;
    const PoolUse printer = facts_of(example("hello_printer.wasm")).pool;
    EXPECT_EQ(need.component_instances, 4u);
    EXPECT_EQ(need.use.core_instances,
              2 * printf_use.core_instances + greeter.core_instances + printer.core_instances);
    EXPECT_EQ(need.use.memories, 2 * printf_use.memories + greeter.memories + printer.memories);
}

// A warm start reads the digest of an unchanged file from the index beside
// the compile cache; any change to the file makes it hash the file again.
TEST(CompileCache, AnUnchangedFileIsNotHashedAgain) {
    const fs::path dir = fresh_dir("digest-index");
    const fs::path file = dir / "greeter.wasm";
    fs::copy_file(example("hello_greeter.wasm"), file);
    RuntimeOptions o;
    o.pooling = false;
    o.cache_dir = dir / "cache";
    auto runtime = Runtime::create(o);
    ASSERT_TRUE(runtime.ok());
    LoadInfo cold;
    ASSERT_TRUE(runtime.value()->load(file, &cold).ok());
    EXPECT_FALSE(cold.digest_indexed);
    EXPECT_FALSE(cold.cache_hit);
    LoadInfo warm;
    ASSERT_TRUE(runtime.value()->load(file, &warm).ok());
    EXPECT_TRUE(warm.digest_indexed);
    EXPECT_TRUE(warm.cache_hit);
    EXPECT_EQ(warm.digest, cold.digest);

    // Other bytes under the same name: hashed again, compiled again.
    fs::remove(file);
    fs::copy_file(example("hello_printer.wasm"), file);
    LoadInfo changed;
    ASSERT_TRUE(runtime.value()->load(file, &changed).ok());
    EXPECT_FALSE(changed.digest_indexed);
    EXPECT_NE(changed.digest, cold.digest);
    EXPECT_FALSE(changed.cache_hit);
}

// Linking reads imports and exports from the file: a component refused for
// an import is never compiled (nothing lands in the compile cache).
TEST_F(FlowTest, ARefusedComponentIsNotCompiled) {
    const fs::path dir = fresh_dir("refused-cache");
    RuntimeOptions o;
    o.pooling = false;
    o.cache_dir = dir;
    auto runtime = Runtime::create(o);
    ASSERT_TRUE(runtime.ok());
    const Manifest m = manifest("refused", toml_source("f", "src", "hello_greeter.wasm", "") +
                                               toml_node("f", "count", "uses_printf.wasm", "sink") +
                                               toml_edge("f", "src", "count"));
    std::vector<Error> warnings;
    const LinkContext ctx{runtime.value().get(), &m, options().component_path, nullptr};
    auto linked = link_node(ctx, m.flows.front(), m.flows.front().nodes.back(), warnings);
    ASSERT_FALSE(linked.ok());
    EXPECT_EQ(linked.error().code, ErrorCode::component_wrong_world);
    const auto compiled = [&] {
        return std::count_if(
            fs::recursive_directory_iterator(dir), {},
            [](const fs::directory_entry& e) { return e.path().extension() == ".cwasm"; });
    };
    EXPECT_EQ(compiled(), 0);
    const Manifest ungranted =
        manifest("ungranted", toml_source("f", "src", "hello_greeter.wasm", "") +
                                  toml_node("f", "count", "uses_printf.wasm", "processor") +
                                  toml_node("f", "out", "hello_printer.wasm", "sink") +
                                  toml_edge("f", "src", "count") + toml_edge("f", "count", "out"));
    const LinkContext ctx2{runtime.value().get(), &ungranted, options().component_path, nullptr};
    linked =
        link_node(ctx2, ungranted.flows.front(), ungranted.flows.front().nodes.at(1), warnings);
    ASSERT_FALSE(linked.ok());
    EXPECT_EQ(linked.error().code, ErrorCode::component_link);
    EXPECT_EQ(compiled(), 0);
}

// A granted variable the host does not have is unset for the guest; the
// node links and runs, with the environment interface and nothing else.
TEST_F(FlowTest, AGrantedVariableUnsetOnTheHostLinksAndReadsUnset) {
    ::unsetenv("TORVYN_TEST_NEVER_SET");
    // The component's other imports (stderr) granted, or linked to stubs.
    for (const std::string other :
         {"capabilities = [\"stderr\"]", "ungranted-imports = \"deny\""}) {
        SCOPED_TRACE(other);
        const std::string text =
            toml_source("f", "src", "hello_greeter.wasm", "count=2") +
            toml_node(
                "f", "env", "reads_env.wasm", "processor",
                "config = \"name=TORVYN_TEST_NEVER_SET\"\nenv = [\"TORVYN_TEST_NEVER_SET\"]\n" +
                    other + "\n") +
            toml_node("f", "out", "hello_printer.wasm", "sink", "capabilities = [\"stdout\"]\n") +
            toml_edge("f", "src", "env") + toml_edge("f", "env", "out");
        const FlowReport r = run("env-unset", text);
        ASSERT_TRUE(r.ok()) << r.error->format();
        EXPECT_EQ(node(r, "out").copies.total().bytes, 2u * 7);  // "(unset)"
    }
}

}  // namespace
}  // namespace torvyn::testing
