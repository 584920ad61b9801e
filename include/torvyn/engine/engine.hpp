// The engine facade: the only part of the host that knows a Wasm engine
// exists. Three levels, each with its own threading contract:
//   Runtime   — process-wide; owns the engine, the compile cache and the epoch
//               ticker. Thread-safe.
//   Component / PreparedComponent — compiled code and its resolved links;
//               immutable, shareable across flows and threads.
//   Instance  — one store; called by one thread at a time.
// Each level holds what it was made from (instance → prepared component →
// component → engine), so any order of destruction is safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/core/call.hpp"
#include "torvyn/core/capability.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/core/role.hpp"
#include "torvyn/resources/element.hpp"
#include "torvyn/resources/node_host.hpp"

namespace torvyn {

// What one component instance takes from the engine's instance pool: the
// core instances, memories and tables it instantiates.
struct PoolUse {
    std::uint32_t core_instances = 0;
    std::uint32_t memories = 0;
    std::uint32_t tables = 0;
};

// What the pool holds at once. The default fits 256 instances of a C, C++ or
// Rust component (a few core instances, one or two memories each); the CLI
// grows it to what the manifest's components need (pool_for in link.hpp).
struct PoolSize {
    std::uint32_t component_instances = 256;
    PoolUse use{.core_instances = 1024, .memories = 512, .tables = 512};

    // Room for `count` more instances of a component that takes `one`.
    void add(const PoolUse& one, std::uint32_t count = 1);
    // Each count the larger of the two.
    [[nodiscard]] PoolSize at_least(const PoolSize& other) const;
};

struct RuntimeOptions {
    // Pooling allocator: instantiation in microseconds, memory reserved up front.
    bool pooling = true;
    PoolSize pool;
    // Hard ceiling for any one linear memory.
    std::uint64_t max_memory_bytes = 256ull << 20;
    // Where compiled components are cached; empty disables the cache.
    std::filesystem::path cache_dir;
    // Deadline resolution: the epoch advances once per tick.
    std::chrono::milliseconds epoch_tick{1};
    // Meter fuel, so InstanceLimits::fuel works (costs on every instruction).
    bool fuel = false;
};

struct InstanceLimits {
    std::uint64_t max_memory_bytes = 0;          // 0: the runtime's ceiling
    std::uint64_t max_table_elements = 0;        // 0: limits::kDefaultMaxTableElements
    std::chrono::milliseconds call_deadline{0};  // 0: none
    std::uint64_t fuel = 0;                      // per call (runtime must meter fuel); 0: none
};

// What an import or export of a component is called.
struct ComponentInterfaces {
    std::vector<std::string> imports;
    std::vector<std::string> exports;
};

// What a component file says about itself, read from its bytes without
// compiling it (milliseconds, where compiling a language runtime takes
// seconds): its top-level imports and exports, its language ("C", "C++",
// "Rust", "Python", "JavaScript", "Go"; empty when it does not say), and
// what one instance takes from the pool.
struct ComponentFacts {
    ComponentInterfaces interfaces;
    std::string language;
    PoolUse pool;
};
Result<ComponentFacts> inspect_component(std::span<const std::uint8_t> bytes);
Result<ComponentFacts> inspect_component_file(const std::filesystem::path& file);

class Component;
class PreparedComponent;
}  // namespace torvyn
struct tvb_batch_result;
struct tvb_batch_output;
namespace torvyn {
class Instance;

struct LoadInfo {
    bool cache_hit = false;
    std::chrono::nanoseconds load_time{0};
    std::string digest;  // sha256 of the component file, hex
    // The digest came from the cache's index (the file is unchanged since
    // it was hashed), not from hashing the file again.
    bool digest_indexed = false;
};

class Runtime {
public:
    static Result<std::unique_ptr<Runtime>> create(const RuntimeOptions& options);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // Compiles (or loads from the cache) the component in `file`.
    Result<std::shared_ptr<const Component>> load(const std::filesystem::path& file,
                                                  LoadInfo* info = nullptr);
    // Compiles component bytes; no cache.
    Result<std::shared_ptr<const Component>> compile(std::span<const std::uint8_t> bytes);
    // Links the torvyn interfaces and the granted WASI ones (grants.interfaces
    // names them); checks the component exports `role`'s interface. Nothing
    // runs yet.
    Result<std::shared_ptr<const PreparedComponent>> prepare(
        const std::shared_ptr<const Component>& component, Role role, const Grants& grants);
    // A fresh instance in its own store. `host` must outlive it.
    Result<std::unique_ptr<Instance>> instantiate(
        const std::shared_ptr<const PreparedComponent>& prepared, NodeHost& host,
        const InstanceLimits& limits);
    // Whether the engine can link the WASI interface `name` (no version).
    static bool links_interface(std::string_view name);

    [[nodiscard]] const RuntimeOptions& options() const;
    static std::string_view wasmtime_version();

    // The bridge's engine, shared by everything made from it.
    struct Engine;

private:
    struct Impl;
    explicit Runtime(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

class Component {
public:
    ~Component();
    Component(const Component&) = delete;
    Component& operator=(const Component&) = delete;

    struct Raw;
    explicit Component(std::unique_ptr<Raw> raw);

private:
    friend class Runtime;
    std::unique_ptr<Raw> raw_;
};

class PreparedComponent {
public:
    ~PreparedComponent();
    PreparedComponent(const PreparedComponent&) = delete;
    PreparedComponent& operator=(const PreparedComponent&) = delete;
    [[nodiscard]] Role role() const { return role_; }
    // The contract's minor version the component was built for (1: 0.1.x,
    // 2: 0.2.x), and whether it exports its role's batch form.
    [[nodiscard]] std::uint32_t contract_minor() const { return contract_minor_; }
    [[nodiscard]] bool batched() const { return batched_; }

    struct Raw;
    PreparedComponent(std::unique_ptr<Raw> raw, Role role);

private:
    friend class Runtime;
    std::unique_ptr<Raw> raw_;
    Role role_;
    std::uint32_t contract_minor_ = 0;
    bool batched_ = false;
};

// Prints what is left of a guest's last stderr line (host_calls.cpp).
void flush_guest_output(NodeHost& host);

// Checks the WIT package in `dir` (and its deps/). The error names the file,
// line and column.
Status check_wit(const std::filesystem::path& dir);

class Instance {
public:
    ~Instance();
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    [[nodiscard]] Role role() const { return role_; }
    [[nodiscard]] bool has_lifecycle() const;

    CallResult init(std::string_view config);
    CallResult teardown();
    CallResult pull(Produced& out);
    // Contract 0.2 batch form (PreparedComponent::batched): as Stage::pull_batch.
    CallResult pull_batch(std::size_t max, std::vector<Produced>& out);
    CallResult notify(bool pause);
    CallResult process(const ElementRef& in, Produced& out);
    CallResult push(const ElementRef& in, bool& pause);
    CallResult complete();
    CallResult accept(const ElementRef& in, bool& accepted);
    CallResult ports(std::vector<std::string>& names);
    CallResult route(const ElementRef& in, std::vector<std::string>& ports);
    CallResult ingest(const ElementRef& in, Produced& out);
    CallResult flush(std::vector<Produced>& out);
    // The batch forms (PreparedComponent::batched): each[i] is element
    // in[i]'s result; a failure returned fails the whole call.
    CallResult process_batch(std::span<const ElementRef> in, std::span<Produced> out,
                             std::span<CallResult> each);
    CallResult push_batch(std::span<const ElementRef> in, std::span<CallResult> each, bool& pause);
    CallResult accept_batch(std::span<const ElementRef> in, std::span<std::uint8_t> kept,
                            std::span<CallResult> each);

    struct Raw;
    Instance(std::unique_ptr<Raw> raw, Role role, NodeHost& host);

private:
    friend class Runtime;
    struct Failure;
    CallResult finish(Failure error);
    CallResult adopt(Produced& out);
    // One guest call on the part of a batch just lent (Raw's scratch).
    CallResult process_part(std::span<Produced> out, std::span<CallResult> each);
    // An output a batch call returned (result r of `made`'s bytes) into `out`.
    CallResult take_output(const tvb_batch_result& r, const tvb_batch_output& made, Produced& out);
    CallResult push_part(std::span<CallResult> each, bool& pause);
    CallResult accept_part(std::span<std::uint8_t> kept, std::span<CallResult> each);

    std::unique_ptr<Raw> raw_;
    Role role_;
    NodeHost& host_;
};

}  // namespace torvyn
