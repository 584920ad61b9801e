#include "torvyn/engine/engine.hpp"

#include <torvyn_bridge.h>

#include <atomic>
#include <fstream>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "bridge_objects.hpp"
#include "component_file.hpp"
#include "host_calls.hpp"
#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn {

using detail::ErrorPtr;
using detail::message_of;
using detail::text;

struct Runtime::Engine {
    Owned<tvb_engine> handle;
};
struct Component::Raw {
    std::shared_ptr<const Runtime::Engine> engine;
    Owned<tvb_component> handle;
};
struct PreparedComponent::Raw {
    std::shared_ptr<const Component> component;
    // Outlives the bridge's prepared link and its instances, which call it
    // for denials.
    std::unique_ptr<std::function<void(std::string_view)>> on_denied;
    Owned<tvb_prepared> handle;
};
Component::Component(std::unique_ptr<Raw> raw) : raw_(std::move(raw)) {}
PreparedComponent::PreparedComponent(std::unique_ptr<Raw> raw, Role role)
    : raw_(std::move(raw)), role_(role) {}

namespace {

// How to get past a full instance pool, with its size.
std::string pool_hint(const RuntimeOptions& o) {
    return fmt::format(
        "the instance pool holds {} component instances, {} core instances, {} memories and {} "
        "tables at once (torvyn sizes it from the manifest's components); run fewer nodes, or "
        "pass --no-pool to allocate instances one by one (no such limit, slower start)",
        o.pool.component_instances, o.pool.use.core_instances, o.pool.use.memories,
        o.pool.use.tables);
}

tvb_role bridge_role(Role role) {
    switch (role) {
        case Role::source:
            return TVB_ROLE_SOURCE;
        case Role::processor:
            return TVB_ROLE_PROCESSOR;
        case Role::sink:
            return TVB_ROLE_SINK;
        case Role::filter:
            return TVB_ROLE_FILTER;
        case Role::router:
            return TVB_ROLE_ROUTER;
        case Role::aggregator:
            return TVB_ROLE_AGGREGATOR;
    }
    return TVB_ROLE_SOURCE;
}

// The bridge's id of each WASI interface, by name.
const std::unordered_map<std::string_view, std::uint32_t>& wasi_interface_ids() {
    static const auto ids = [] {
        std::unordered_map<std::string_view, std::uint32_t> out;
        for (std::uint32_t id = 0; id < tvb_wasi_interface_count(); ++id) {
            out.emplace(tvb_wasi_interface_name(id), id);
        }
        return out;
    }();
    return ids;
}

}  // namespace

struct Runtime::Impl {
    RuntimeOptions options;
    std::shared_ptr<const Engine> engine;
    std::uint64_t compat_hash = 0;
    std::shared_ptr<CallGate> gate = std::make_shared<CallGate>();  // instances share it
    std::unique_ptr<EpochTicker> ticker;  // stops before `engine` is released
};

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Runtime::~Runtime() {
    impl_->ticker.reset();
}

std::string_view Runtime::wasmtime_version() {
    return tvb_wasmtime_version();
}
const RuntimeOptions& Runtime::options() const {
    return impl_->options;
}
bool Runtime::links_interface(std::string_view name) {
    return wasi_interface_ids().contains(name);
}

Result<std::unique_ptr<Runtime>> Runtime::create(const RuntimeOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    tvb_engine_config config{
        .pooling = options.pooling ? uint8_t{1} : uint8_t{0},
        .pool_instances = options.pool.component_instances,
        .pool =
            tvb_pool_use{
                .core_instances = options.pool.use.core_instances,
                .memories = options.pool.use.memories,
                .tables = options.pool.use.tables,
            },
        .max_memory_bytes = options.max_memory_bytes,
        .optimize = 1,
        .fuel = options.fuel ? uint8_t{1} : uint8_t{0},
        .limits =
            tvb_guest_limits{
                .call_transfer_bytes = limits::kMaxCallTransferBytes,
                .component_handles = limits::kMaxComponentHandles,
                .wasi_resources = limits::kMaxWasiResources,
                .text_bytes = limits::kMaxGuestTextBytes,
                .list_items = std::max(limits::kMaxRouterPorts, limits::kMaxFlushOutputs),
                .name_bytes = limits::kMaxPortNameBytes,
                .stream_write_bytes = limits::kMaxStreamWriteBytes,
                .stop_check_ms = limits::kStopCheckTicks,
            },
    };
    tvb_engine* engine = nullptr;
    ErrorPtr error(tvb_engine_new(&config, &detail::host_callbacks(), &engine));
    if (error && config.pooling != 0) {
        // The pool reserves address space for every instance up front; where
        // that is not available (a `ulimit -v`, ThreadSanitizer's restricted
        // address space), instances are allocated one by one instead.
        config.pooling = 0;
        impl->options.pooling = false;
        error.reset(tvb_engine_new(&config, &detail::host_callbacks(), &engine));
    }
    if (error) {
        return Error(ErrorCode::engine,
                     "cannot create the Wasmtime engine: " + message_of(error.get()));
    }
    impl->engine = std::make_shared<const Engine>(Engine{Owned<tvb_engine>(engine)});
    impl->compat_hash = tvb_engine_compatibility_hash(engine);
    impl->ticker = std::make_unique<EpochTicker>(engine, options.epoch_tick, impl->gate);
    return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
}

Component::~Component() = default;

void PoolSize::add(const PoolUse& one, std::uint32_t count) {
    const auto grow = [count](std::uint32_t& total, std::uint32_t each) {
        const std::uint64_t sum = total + std::uint64_t{each} * count;
        total = static_cast<std::uint32_t>(std::min<std::uint64_t>(sum, UINT32_MAX));
    };
    grow(component_instances, 1);
    grow(use.core_instances, one.core_instances);
    grow(use.memories, one.memories);
    grow(use.tables, one.tables);
}

PoolSize PoolSize::at_least(const PoolSize& other) const {
    return PoolSize{
        .component_instances = std::max(component_instances, other.component_instances),
        .use = {.core_instances = std::max(use.core_instances, other.use.core_instances),
                .memories = std::max(use.memories, other.use.memories),
                .tables = std::max(use.tables, other.use.tables)}};
}

Result<ComponentFacts> inspect_component(std::span<const std::uint8_t> bytes) {
    ComponentFacts out;
    tvb_pool_use pool{};
    const char* language = nullptr;
    const ErrorPtr error(tvb_component_inspect(
        bytes.data(), bytes.size(), &out.interfaces,
        [](void* user, tvb_interface_kind kind, const uint8_t* name, size_t len) {
            auto& o = *static_cast<ComponentInterfaces*>(user);
            // Names come from the component file.
            (kind == TVB_IMPORT ? o.imports : o.exports)
                .push_back(guest_text(text(name, len), limits::kMaxGuestTextBytes));
        },
        &pool, &language));
    if (error) {
        return Error(ErrorCode::component_invalid,
                     "not a valid WebAssembly component: " + message_of(error.get()), {},
                     "build it with torvyn_add_component or `wasm-tools component new`");
    }
    out.language = language != nullptr ? language : "";
    out.pool = PoolUse{pool.core_instances, pool.memories, pool.tables};
    return out;
}

Result<ComponentFacts> inspect_component_file(const std::filesystem::path& file) {
    auto mapped = detail::MappedFile::open(file);
    if (!mapped) {
        return std::move(mapped).error();
    }
    auto facts = inspect_component(mapped.value().bytes());
    if (!facts) {
        auto e = std::move(facts).error();
        e.message = fmt::format("{}: {}", file.string(), e.message);
        return e;
    }
    return facts;
}

PreparedComponent::~PreparedComponent() = default;

Result<std::shared_ptr<const Component>> Runtime::compile(std::span<const std::uint8_t> bytes) {
    tvb_component* c = nullptr;
    if (ErrorPtr e(
            tvb_component_compile(impl_->engine->handle.get(), bytes.data(), bytes.size(), &c));
        e) {
        return Error(ErrorCode::component_invalid,
                     "not a valid WebAssembly component: " + message_of(e.get()), {},
                     "build it with torvyn_add_component or `wasm-tools component new`");
    }
    return std::make_shared<const Component>(
        std::make_unique<Component::Raw>(Component::Raw{impl_->engine, Owned<tvb_component>(c)}));
}

Result<std::shared_ptr<const Component>> Runtime::load(const std::filesystem::path& file,
                                                       LoadInfo* info) {
    const auto start = std::chrono::steady_clock::now();
    auto mapped = detail::MappedFile::open(file);
    if (!mapped) {
        return std::move(mapped).error();
    }
    LoadInfo local;
    LoadInfo& li = info != nullptr ? *info : local;
    const std::string digest =
        detail::component_digest(mapped.value(), impl_->options.cache_dir, li.digest_indexed);
    li.digest = digest;
    li.cache_hit = false;

    // Key: what was compiled (digest) and how (engine version and settings).
    std::filesystem::path cached;
    if (!impl_->options.cache_dir.empty()) {
        cached =
            impl_->options.cache_dir / fmt::format("{}-{:016x}.cwasm", digest, impl_->compat_hash);
        std::error_code ec;
        if (std::filesystem::is_regular_file(cached, ec)) {
            tvb_component* c = nullptr;
            if (ErrorPtr e(tvb_component_deserialize_file(impl_->engine->handle.get(),
                                                          cached.c_str(), &c));
                !e) {
                li.cache_hit = true;
                li.load_time = std::chrono::steady_clock::now() - start;
                return std::make_shared<const Component>(std::make_unique<Component::Raw>(
                    Component::Raw{impl_->engine, Owned<tvb_component>(c)}));
            }
            // A damaged or foreign entry: recompile and replace it.
            std::filesystem::remove(cached, ec);
        }
    }

    auto component = compile(mapped.value().bytes());
    if (!component) {
        auto e = std::move(component).error();
        e.message = fmt::format("{}: {}", file.string(), e.message);
        return e;
    }
    if (!cached.empty()) {
        uint8_t* data = nullptr;
        size_t len = 0;
        if (ErrorPtr e(tvb_component_serialize(component.value()->raw_->handle.get(), &data, &len));
            !e) {
            std::error_code ec;
            std::filesystem::create_directories(cached.parent_path(), ec);
            // Write then rename so a concurrent reader never sees half a file;
            // the temporary name is unique per process and per write, so two
            // threads compiling the same component never share one.
            static std::atomic<std::uint64_t> writes{0};
            const auto tmp = cached.string() + fmt::format(".tmp{}-{}", ::getpid(), ++writes);
            {
                std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
                out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(len));
            }
            std::filesystem::rename(tmp, cached, ec);
            if (ec) {
                std::filesystem::remove(tmp, ec);
            }
            tvb_bytes_free(data, len);
        }
    }
    li.load_time = std::chrono::steady_clock::now() - start;
    return component;
}

Result<std::shared_ptr<const PreparedComponent>> Runtime::prepare(
    const std::shared_ptr<const Component>& component, Role role, const Grants& grants) {
    tvb_grants g{};
    for (const auto& name : grants.interfaces) {
        const auto id = wasi_interface_ids().find(name);
        if (id == wasi_interface_ids().end()) {
            // The capability table names an interface the bridge cannot link.
            return Error(ErrorCode::engine,
                         fmt::format("the engine cannot link the WASI interface {}", name), {},
                         "add it to bridge/src/wasi.rs (docs/architecture.md)");
        }
        g.interfaces |= std::uint64_t{1} << id->second;
    }
    // The bridge copies everything these point to before tvb_prepare returns.
    std::vector<std::string> host_paths;
    host_paths.reserve(grants.dirs.size());
    std::vector<tvb_dir_grant> dirs;
    for (const auto& d : grants.dirs) {
        host_paths.push_back(d.host.string());
        dirs.push_back(tvb_dir_grant{.host_path = host_paths.back().c_str(),
                                     .guest_path = d.guest.c_str(),
                                     .writable = d.writable ? uint8_t{1} : uint8_t{0}});
    }
    std::vector<tvb_env_var> env;
    for (const auto& [name, value] : grants.env) {
        env.push_back(tvb_env_var{.name = name.c_str(), .value = value.c_str()});
    }
    std::vector<const char*> connect;
    for (const auto& a : grants.connect) {
        connect.push_back(a.c_str());
    }
    g.dirs = dirs.data();
    g.dir_count = dirs.size();
    g.env = env.data();
    g.env_count = env.size();
    g.connect = connect.data();
    g.connect_count = connect.size();
    std::vector<tvb_stubbed_import> stubbed;
    for (const auto& s : grants.stubbed) {
        stubbed.push_back(tvb_stubbed_import{.name = s.name.c_str(), .hint = s.hint.c_str()});
    }
    g.stubbed = stubbed.data();
    g.stubbed_count = stubbed.size();
    auto on_denied = grants.on_denied
                         ? std::make_unique<std::function<void(std::string_view)>>(grants.on_denied)
                         : nullptr;
    if (on_denied) {
        g.audit_user = on_denied.get();
        g.audit_deny = [](void* user, const uint8_t* what, size_t len) {
            (*static_cast<std::function<void(std::string_view)>*>(user))(text(what, len));
        };
    }
    tvb_prepared* p = nullptr;
    const ErrorPtr error(tvb_prepare(impl_->engine->handle.get(), component->raw_->handle.get(),
                                     bridge_role(role), &g, &p));
    if (error) {
        switch (tvb_error_status(error.get())) {
            case TVB_MISSING_EXPORT:
                return Error(ErrorCode::component_wrong_world,
                             fmt::format("component does not export {} (role '{}')",
                                         role_interface(role), role_name(role)),
                             {}, wrong_world_hint(role));
            case TVB_LINK_ERROR:
                return Error(ErrorCode::component_link,
                             "cannot link component: " + message_of(error.get()));
            case TVB_INVALID_ARGUMENT:
                return Error(ErrorCode::grant_invalid, message_of(error.get()));
            default:
                return Error(ErrorCode::engine, message_of(error.get()));
        }
    }
    auto prepared = std::make_shared<PreparedComponent>(
        std::make_unique<PreparedComponent::Raw>(
            PreparedComponent::Raw{component, std::move(on_denied), Owned<tvb_prepared>(p)}),
        role);
    int32_t batched = 0;
    tvb_prepared_contract(p, &prepared->contract_minor_, &batched);
    prepared->batched_ = batched != 0;
    return std::shared_ptr<const PreparedComponent>(std::move(prepared));
}

Result<std::unique_ptr<Instance>> Runtime::instantiate(
    const std::shared_ptr<const PreparedComponent>& prepared, NodeHost& host,
    const InstanceLimits& limits) {
    const tvb_instance_limits l{
        .max_memory_bytes = limits.max_memory_bytes,
        .max_table_elements = limits.max_table_elements != 0 ? limits.max_table_elements
                                                             : limits::kDefaultMaxTableElements,
        .call_deadline_ms = static_cast<std::uint64_t>(limits.call_deadline.count()),
        .fuel = limits.fuel,
    };
    tvb_instance* i = nullptr;
    ErrorPtr error;
    {
        const InCall starting(*impl_->gate);  // instantiating runs the component's start code
        error.reset(tvb_instance_new(prepared->raw_->handle.get(), &host, &l, &i));
    }
    if (error) {
        ErrorCode code = ErrorCode::engine;
        std::string hint;
        switch (tvb_error_status(error.get())) {
            case TVB_POOL_EXHAUSTED:
                code = ErrorCode::host_pool;
                hint = pool_hint(impl_->options);
                break;
            case TVB_DENIED:
                code = ErrorCode::denied_call;
                break;
            case TVB_LIMIT:
            case TVB_HOST_LIMIT:
                code = ErrorCode::guest_limit;
                break;
            case TVB_TRAP:
            case TVB_REFUSED:
                code = ErrorCode::guest_trap;
                break;
            case TVB_DEADLINE:
                code = ErrorCode::guest_deadline;
                break;
            case TVB_INVALID_ARGUMENT:
                code = ErrorCode::grant_invalid;
                break;
            default:
                break;
        }
        return Error(code, "cannot instantiate component: " + message_of(error.get()), {},
                     std::move(hint));
    }
    return std::make_unique<Instance>(std::make_unique<Instance::Raw>(Instance::Raw{
                                          prepared, Owned<tvb_instance>(i), {}, impl_->gate}),
                                      prepared->role(), host);
}

Status check_wit(const std::filesystem::path& dir) {
    const ErrorPtr error(tvb_wit_check(dir.c_str()));
    if (!error) {
        return {};
    }
    // wit-parser renders the place as "--> file:line:col"; lift it out.
    const std::string text = message_of(error.get());
    std::string where = dir.string();
    if (const auto arrow = text.find("--> "); arrow != std::string::npos) {
        const auto end = text.find('\n', arrow);
        where =
            text.substr(arrow + 4, end == std::string::npos ? std::string::npos : end - arrow - 4);
    }
    // The first line chains context with ": "; the last part is the problem.
    std::string first = text.substr(0, text.find('\n'));
    if (const auto colon = first.rfind(": "); colon != std::string::npos) {
        first = first.substr(colon + 2);
    }
    return Error(ErrorCode::wit_invalid, "invalid WIT: " + first, where,
                 "fix the WIT at that place (wasm-tools component wit DIR shows the same)");
}

}  // namespace torvyn
