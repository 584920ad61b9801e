#include "torvyn/engine/engine.hpp"

#include <torvyn_bridge.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "host_calls.hpp"
#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn {

// Every bridge object is held by one of these; they free it exactly once.
struct BridgeFree {
    void operator()(tvb_engine* p) const { tvb_engine_free(p); }
    void operator()(tvb_component* p) const { tvb_component_free(p); }
    void operator()(tvb_prepared* p) const { tvb_prepared_free(p); }
    void operator()(tvb_instance* p) const { tvb_instance_free(p); }
    void operator()(tvb_error* p) const { tvb_error_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, BridgeFree>;

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
// How a batch carries payloads to a component. By value saves a handle and
// a host call per element, but copies payloads a component may never read
// (a filter or router on metadata): the first batch is lent, and the
// component's reads of it decide.
enum class PayloadMode : std::uint8_t { probe, by_value, lent };

// What a batch call lends and gets back, kept to reuse the memory.
struct BatchScratch {
    PayloadMode mode = PayloadMode::probe;
    std::uint64_t reads_before = 0;  // NodeHost::payload_reads when a probe began
    tvb_batch batch{};
    std::vector<tvb_batch_element> elements;
    std::vector<std::byte> bytes;         // payloads carried by value
    std::vector<std::string_view> types;  // distinct content types (the buffers' own)
    std::vector<tvb_bytes> type_views;
    std::vector<tvb_batch_result> results;
};
struct Instance::Raw {
    std::shared_ptr<const PreparedComponent> prepared;
    Owned<tvb_instance> handle;
    BatchScratch scratch;
};
// A bridge call's outcome: null on success.
struct Instance::Failure {
    Owned<tvb_error> error;
};

Component::Component(std::unique_ptr<Raw> raw) : raw_(std::move(raw)) {}
PreparedComponent::PreparedComponent(std::unique_ptr<Raw> raw, Role role)
    : raw_(std::move(raw)), role_(role) {}
Instance::Instance(std::unique_ptr<Raw> raw, Role role, NodeHost& host)
    : raw_(std::move(raw)), role_(role), host_(host) {}

namespace {

using ErrorPtr = Owned<tvb_error>;

std::string message_of(const tvb_error* e) {
    const uint8_t* data = nullptr;
    size_t len = 0;
    tvb_error_message(e, &data, &len);
    return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), len);
}

std::string_view text(const uint8_t* data, size_t len) {
    return {reinterpret_cast<const char*>(data), len};
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

// Advances the engine's epoch every tick so per-call deadlines can expire.
class EpochTicker {
public:
    EpochTicker(const tvb_engine* engine, std::chrono::milliseconds tick)
        : thread_([this, engine, tick] {
              std::unique_lock lock(mutex_);
              while (!stop_) {
                  cv_.wait_for(lock, tick);
                  tvb_engine_increment_epoch(engine);
              }
          }) {}
    EpochTicker(const EpochTicker&) = delete;
    EpochTicker& operator=(const EpochTicker&) = delete;
    ~EpochTicker() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

Result<std::vector<std::uint8_t>> read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return Error(ErrorCode::component_not_found, fmt::format("cannot open {}", file.string()));
    }
    std::error_code ec;
    if (const auto size = std::filesystem::file_size(file, ec);
        !ec && size > limits::kMaxComponentFileBytes) {
        return Error(ErrorCode::component_invalid,
                     fmt::format("{} is {} bytes; components of more than {} bytes are refused",
                                 file.string(), size, limits::kMaxComponentFileBytes),
                     {}, "build the component in release mode and strip it (--strip-all)");
    }
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
    return bytes;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
    std::string hex;
    hex.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        hex += fmt::format("{:02x}", digest[i]);
    }
    return hex;
}

}  // namespace

struct Runtime::Impl {
    RuntimeOptions options;
    std::shared_ptr<const Engine> engine;
    std::uint64_t compat_hash = 0;
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
        .max_instances = options.max_instances,
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
    impl->ticker = std::make_unique<EpochTicker>(engine, options.epoch_tick);
    return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
}

Component::~Component() = default;

ComponentInterfaces Component::interfaces() const {
    ComponentInterfaces out;
    tvb_component_interfaces(
        raw_->handle.get(), &out,
        [](void* user, tvb_interface_kind kind, const uint8_t* name, size_t len) {
            auto& o = *static_cast<ComponentInterfaces*>(user);
            // Names come from the component file.
            (kind == TVB_IMPORT ? o.imports : o.exports)
                .push_back(guest_text(text(name, len), limits::kMaxGuestTextBytes));
        });
    return out;
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
    auto bytes = read_file(file);
    if (!bytes) {
        return std::move(bytes).error();
    }
    const std::string digest = sha256_hex(bytes.value());
    LoadInfo local;
    LoadInfo& li = info != nullptr ? *info : local;
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

    auto component = compile(bytes.value());
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
    if (const ErrorPtr error(tvb_instance_new(prepared->raw_->handle.get(), &host, &l, &i));
        error) {
        ErrorCode code = ErrorCode::engine;
        switch (tvb_error_status(error.get())) {
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
        return Error(code, "cannot instantiate component: " + message_of(error.get()));
    }
    return std::make_unique<Instance>(
        std::make_unique<Instance::Raw>(Instance::Raw{prepared, Owned<tvb_instance>(i), {}}),
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

// --- Instance ---------------------------------------------------------------

Instance::~Instance() = default;

bool Instance::has_lifecycle() const {
    return tvb_instance_has_lifecycle(raw_->handle.get()) != 0;
}

namespace {

GuestErrorKind guest_kind(tvb_process_error_kind kind) {
    switch (kind) {
        case TVB_ERR_INVALID_INPUT:
            return GuestErrorKind::invalid_input;
        case TVB_ERR_UNAVAILABLE:
            return GuestErrorKind::unavailable;
        case TVB_ERR_DEADLINE_EXCEEDED:
            return GuestErrorKind::deadline_exceeded;
        case TVB_ERR_FATAL:
            return GuestErrorKind::fatal;
        case TVB_ERR_INTERNAL:
            break;
    }
    return GuestErrorKind::internal;
}

CallStatus call_status(tvb_status status) {
    switch (status) {
        case TVB_GUEST_ERROR:
            return CallStatus::guest_error;
        case TVB_TRAP:
        case TVB_REFUSED:  // the host refused the guest, which trapped
            return CallStatus::trap;
        case TVB_DEADLINE:
            return CallStatus::deadline;
        case TVB_LIMIT:
            return CallStatus::limit;
        case TVB_STOPPED:
            return CallStatus::stopped;
        case TVB_HOST_LIMIT:
            return CallStatus::host_limit;
        default:
            return CallStatus::internal;
    }
}

tvb_element lend(const ElementRef& in, const NodeHost& host) {
    return tvb_element{.sequence = in.sequence,
                       .timestamp_ns = in.timestamp_ns,
                       .payload = in.payload,
                       .context = host.context_handle};
}

Produced produced(const tvb_output& o) {
    Produced out;
    out.present = o.present != 0;
    out.pending = o.pending != 0;
    out.retry_after = std::chrono::nanoseconds(o.retry_after_ns);
    out.sequence = o.sequence;
    out.timestamp_ns = o.timestamp_ns;
    out.payload = o.payload;
    return out;
}

void add_name(void* user, const uint8_t* name, size_t len) {
    static_cast<std::vector<std::string>*>(user)->emplace_back(text(name, len));
}

}  // namespace

CallResult Instance::finish(Failure failure) {
    CallResult r;
    if (!failure.error) {
        return r;
    }
    const tvb_error* e = failure.error.get();
    r.status = call_status(tvb_error_status(e));
    if (r.status == CallStatus::guest_error) {
        r.guest_kind = guest_kind(tvb_error_guest_kind(e));
    }
    // A refusal: the host's own record says why, with the numbers.
    const bool refused = tvb_error_status(e) == TVB_REFUSED && !host_.refusal_message.empty();
    // Guest text (the bridge cut it to limits::kMaxGuestTextBytes): escaped
    // here, so every report, log and terminal downstream gets it safe.
    r.message = refused ? host_.refusal_message : escape_guest_text(message_of(e));
    return r;
}

// Takes ownership of a payload a guest just returned.
CallResult Instance::adopt(Produced& out) {
    if (!out.present) {
        return {};
    }
    const BufferOp op = host_.buffers->take_from_guest(host_.id, out.payload);
    if (op != BufferOp::ok) {
        CallResult r;
        r.status = CallStatus::internal;
        r.message =
            fmt::format("returned buffer not owned by the component: {}", buffer_op_name(op));
        return r;
    }
    return {};
}

CallResult Instance::init(std::string_view config) {
    return finish({ErrorPtr(tvb_call_init(raw_->handle.get(), config.data(), config.size()))});
}

CallResult Instance::teardown() {
    return finish({ErrorPtr(tvb_call_teardown(raw_->handle.get()))});
}

CallResult Instance::pull(Produced& out) {
    tvb_output o{};
    CallResult r = finish({ErrorPtr(tvb_call_pull(raw_->handle.get(), host_.context_handle, &o))});
    if (!r.ok()) {
        return r;
    }
    out = produced(o);
    return adopt(out);
}

CallResult Instance::notify(bool pause) {
    return finish({ErrorPtr(tvb_call_notify(raw_->handle.get(), pause ? 1 : 0))});
}

CallResult Instance::process(const ElementRef& in, Produced& out) {
    const tvb_element e = lend(in, host_);
    tvb_output o{};
    CallResult r = finish({ErrorPtr(tvb_call_process(raw_->handle.get(), &e, &o))});
    if (!r.ok()) {
        return r;
    }
    out = produced(o);
    return adopt(out);
}

CallResult Instance::push(const ElementRef& in, bool& pause) {
    const tvb_element e = lend(in, host_);
    int32_t p = 0;
    CallResult r = finish({ErrorPtr(tvb_call_push(raw_->handle.get(), &e, &p))});
    pause = p != 0;
    return r;
}

CallResult Instance::complete() {
    return finish({ErrorPtr(tvb_call_complete(raw_->handle.get()))});
}

CallResult Instance::accept(const ElementRef& in, bool& accepted) {
    const tvb_element e = lend(in, host_);
    int32_t a = 0;
    CallResult r = finish({ErrorPtr(tvb_call_accept(raw_->handle.get(), &e, &a))});
    accepted = a != 0;
    return r;
}

CallResult Instance::ports(std::vector<std::string>& names) {
    names.clear();
    return finish({ErrorPtr(tvb_call_ports(raw_->handle.get(), &names, add_name))});
}

CallResult Instance::route(const ElementRef& in, std::vector<std::string>& ports) {
    const tvb_element e = lend(in, host_);
    ports.clear();
    return finish({ErrorPtr(tvb_call_route(raw_->handle.get(), &e, &ports, add_name))});
}

CallResult Instance::ingest(const ElementRef& in, Produced& out) {
    const tvb_element e = lend(in, host_);
    tvb_output o{};
    CallResult r = finish({ErrorPtr(tvb_call_ingest(raw_->handle.get(), &e, &o))});
    if (!r.ok()) {
        return r;
    }
    out = produced(o);
    return adopt(out);
}

CallResult Instance::flush(std::vector<Produced>& out) {
    out.clear();
    CallResult r = finish(
        {ErrorPtr(tvb_call_flush(raw_->handle.get(), &out, [](void* user, const tvb_output* o) {
            static_cast<std::vector<Produced>*>(user)->push_back(produced(*o));
        }))});
    if (!r.ok()) {
        return r;
    }
    for (auto& p : out) {
        if (CallResult a = adopt(p); !a.ok()) {
            return a;
        }
    }
    return r;
}

// --- batches (contract 0.2) ----------------------------------------------------

namespace {

// Gathers a batch: small payloads copied (and counted, as a read would be)
// into one byte list, larger ones lent by handle; each content type once.
const tvb_batch& lend(BatchScratch& b, NodeHost& node, std::span<const ElementRef> in) {
    b.reads_before = node.payload_reads;
    b.elements.clear();
    b.bytes.clear();
    b.types.clear();
    b.type_views.clear();
    for (const ElementRef& e : in) {
        std::uint64_t size = 0;
        std::string_view type;
        node.buffers->size(e.payload, &size);
        node.buffers->content_type(e.payload, &type);
        auto t = std::find(b.types.begin(), b.types.end(), type);
        if (t == b.types.end()) {
            t = b.types.insert(b.types.end(), type);
        }
        tvb_batch_element el{.sequence = e.sequence,
                             .timestamp_ns = e.timestamp_ns,
                             .by_value = 0,
                             .payload = e.payload,
                             .offset = 0,
                             .len = 0,
                             .content_type = static_cast<uint32_t>(t - b.types.begin())};
        std::span<const std::byte> bytes;
        if (b.mode == PayloadMode::by_value && size <= limits::kBatchInlineBytes &&
            b.bytes.size() + size <= limits::kBatchInlineTotalBytes &&
            node.buffers->bytes(e.payload, 0, size, &bytes) == BufferOp::ok) {
            el.by_value = 1;
            el.offset = static_cast<uint32_t>(b.bytes.size());
            el.len = static_cast<uint32_t>(bytes.size());
            b.bytes.insert(b.bytes.end(), bytes.begin(), bytes.end());
            node.ledger->record(CopyReason::host_to_guest, bytes.size());
            if (node.edge_ledger != nullptr) {
                node.edge_ledger->record(CopyReason::host_to_guest, bytes.size());
            }
        }
        b.elements.push_back(el);
    }
    for (const std::string_view t : b.types) {
        b.type_views.push_back(tvb_bytes{reinterpret_cast<const uint8_t*>(t.data()), t.size()});
    }
    b.results.assign(in.size(), tvb_batch_result{});
    b.batch = tvb_batch{.elements = b.elements.data(),
                        .count = b.elements.size(),
                        .bytes = {reinterpret_cast<const uint8_t*>(b.bytes.data()), b.bytes.size()},
                        .content_types = b.type_views.data(),
                        .content_type_count = b.type_views.size(),
                        .context = node.context_handle};
    return b.batch;
}

// After a probing batch: by value from now on if the component read
// everything it was lent.
void learn(BatchScratch& b, const NodeHost& node) {
    if (b.mode == PayloadMode::probe && !b.elements.empty()) {
        b.mode = node.payload_reads - b.reads_before >= b.elements.size() ? PayloadMode::by_value
                                                                          : PayloadMode::lent;
    }
}

// Element i's own result, from the guest's batch result.
CallResult element_result(const tvb_batch_result& r) {
    if (r.outcome != TVB_BATCH_FAILED) {
        return {};
    }
    // Guest text (the bridge cut it to limits::kMaxGuestTextBytes).
    return CallResult::guest(guest_kind(r.error_kind),
                             escape_guest_text(text(r.message.data, r.message.len)));
}

}  // namespace

namespace {

// Runs `call(begin, end)` over consecutive parts of `in` whose payloads
// total at most limits::kBatchCallBytes (one element at least); stops at the
// first failed call.
template <class Call>
CallResult in_parts(const BufferStore& buffers, std::span<const ElementRef> in, Call call) {
    std::size_t begin = 0;
    while (begin < in.size()) {
        std::size_t end = begin;
        std::uint64_t bytes = 0;
        do {
            std::uint64_t size = 0;
            buffers.size(in[end].payload, &size);
            bytes += size;
            ++end;
        } while (end < in.size() && bytes < limits::kBatchCallBytes);
        if (CallResult r = call(begin, end); !r.ok()) {
            return r;
        }
        begin = end;
    }
    return {};
}

}  // namespace

CallResult Instance::process_batch(std::span<const ElementRef> in, std::span<Produced> out,
                                   std::span<CallResult> each) {
    return in_parts(*host_.buffers, in, [&](std::size_t begin, std::size_t end) {
        return process_part(in.subspan(begin, end - begin), out.subspan(begin, end - begin),
                            each.subspan(begin, end - begin));
    });
}

CallResult Instance::push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                                bool& pause) {
    pause = false;
    return in_parts(*host_.buffers, in, [&](std::size_t begin, std::size_t end) {
        bool p = false;
        CallResult r =
            push_part(in.subspan(begin, end - begin), each.subspan(begin, end - begin), p);
        pause = pause || p;
        return r;
    });
}

CallResult Instance::accept_batch(std::span<const ElementRef> in, std::span<std::uint8_t> kept,
                                  std::span<CallResult> each) {
    return in_parts(*host_.buffers, in, [&](std::size_t begin, std::size_t end) {
        return accept_part(in.subspan(begin, end - begin), kept.subspan(begin, end - begin),
                           each.subspan(begin, end - begin));
    });
}

CallResult Instance::process_part(std::span<const ElementRef> in, std::span<Produced> out,
                                  std::span<CallResult> each) {
    BatchScratch& b = raw_->scratch;
    const tvb_batch& batch = lend(b, host_, in);
    tvb_batch_output made{};
    CallResult r = finish(
        {ErrorPtr(tvb_call_process_batch(raw_->handle.get(), &batch, b.results.data(), &made))});
    learn(b, host_);
    if (!r.ok()) {
        return r;
    }
    const auto* bytes = reinterpret_cast<const std::byte*>(made.bytes.data);
    for (std::size_t i = 0; i < in.size(); ++i) {
        const tvb_batch_result& res = b.results[i];
        each[i] = element_result(res);
        out[i] = Produced{};
        if (res.outcome != TVB_BATCH_DONE) {
            continue;  // dropped, or failed
        }
        out[i].present = true;
        out[i].sequence = res.sequence;
        out[i].timestamp_ns = res.timestamp_ns;
        if (res.by_value == 0) {
            out[i].payload = res.payload;
            each[i] = adopt(out[i]);
            if (!each[i].ok()) {
                out[i] = Produced{};
            }
            continue;
        }
        // Checked here, not trusted: a range and a type index the guest chose.
        const bool in_range = std::uint64_t{res.offset} + res.len <= made.bytes.len;
        const bool typed = res.content_type < made.content_type_count;
        if (!in_range || !typed) {
            out[i] = Produced{};
            each[i] = CallResult::guest(
                GuestErrorKind::internal,
                in_range
                    ? fmt::format("process-batch: content type {} of {} does not exist",
                                  res.content_type, made.content_type_count)
                    : fmt::format("process-batch: bytes {}..{} lie outside its {} bytes",
                                  res.offset, std::uint64_t{res.offset} + res.len, made.bytes.len));
            continue;
        }
        const tvb_bytes type = made.content_types[res.content_type];
        BufferOp why = BufferOp::ok;
        out[i].payload = detail::make_guest_buffer(
            host_, std::span<const std::byte>(bytes + res.offset, res.len),
            text(type.data, type.len), &why);
        if (out[i].payload == 0) {
            out[i] = Produced{};
            each[i] = CallResult::guest(GuestErrorKind::unavailable,
                                        host_.refusal_message.empty()
                                            ? fmt::format("output refused: {}", buffer_op_name(why))
                                            : host_.refusal_message);
            continue;
        }
        each[i] = adopt(out[i]);
    }
    return r;
}

CallResult Instance::push_part(std::span<const ElementRef> in, std::span<CallResult> each,
                               bool& pause) {
    BatchScratch& b = raw_->scratch;
    const tvb_batch& batch = lend(b, host_, in);
    int32_t p = 0;
    CallResult r =
        finish({ErrorPtr(tvb_call_push_batch(raw_->handle.get(), &batch, b.results.data(), &p))});
    learn(b, host_);
    pause = p != 0;
    if (r.ok()) {
        for (std::size_t i = 0; i < in.size(); ++i) {
            each[i] = element_result(b.results[i]);
        }
    }
    return r;
}

CallResult Instance::accept_part(std::span<const ElementRef> in, std::span<std::uint8_t> kept,
                                 std::span<CallResult> each) {
    BatchScratch& b = raw_->scratch;
    const tvb_batch& batch = lend(b, host_, in);
    CallResult r =
        finish({ErrorPtr(tvb_call_accept_batch(raw_->handle.get(), &batch, b.results.data()))});
    learn(b, host_);
    if (r.ok()) {
        for (std::size_t i = 0; i < in.size(); ++i) {
            each[i] = element_result(b.results[i]);
            kept[i] = b.results[i].outcome == TVB_BATCH_DONE ? 1 : 0;
        }
    }
    return r;
}

}  // namespace torvyn
