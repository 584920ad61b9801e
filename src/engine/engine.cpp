#include "torvyn/engine/engine.hpp"

#include <torvyn_bridge.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "host_calls.hpp"
#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn {

struct Component::Raw {
    tvb_component* handle;
};
struct PreparedComponent::Raw {
    tvb_prepared* handle;
    // Outlives the bridge's prepared link, which calls it for denials.
    std::unique_ptr<std::function<void(std::string_view)>> on_denied;
};
struct Instance::Raw {
    tvb_instance* handle;
};

namespace {

std::string bridge_error() {
    const char* data = nullptr;
    size_t len = 0;
    tvb_last_error(&data, &len);
    return data == nullptr ? std::string() : std::string(data, len);
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
    tvb_engine* engine = nullptr;
    std::uint64_t compat_hash = 0;
    std::unique_ptr<EpochTicker> ticker;

    ~Impl() {
        ticker.reset();
        tvb_engine_free(engine);
    }
};

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Runtime::~Runtime() = default;

std::string_view Runtime::wasmtime_version() {
    return tvb_wasmtime_version();
}
const RuntimeOptions& Runtime::options() const {
    return impl_->options;
}

Result<std::unique_ptr<Runtime>> Runtime::create(const RuntimeOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    tvb_engine_config config{};
    config.pooling = options.pooling ? 1 : 0;
    config.max_instances = options.max_instances;
    config.max_memory_bytes = options.max_memory_bytes;
    config.optimize = 1;
    config.fuel = options.fuel ? 1 : 0;
    config.limits = tvb_guest_limits{
        .call_transfer_bytes = limits::kMaxCallTransferBytes,
        .component_handles = limits::kMaxComponentHandles,
        .wasi_resources = limits::kMaxWasiResources,
        .text_bytes = limits::kMaxGuestTextBytes,
        .list_items = std::max(limits::kMaxRouterPorts, limits::kMaxFlushOutputs),
        .name_bytes = limits::kMaxPortNameBytes,
        .stream_write_bytes = limits::kMaxStreamWriteBytes,
        .stop_check_ms = limits::kStopCheckTicks,
    };
    if (tvb_engine_new(&config, &detail::host_callbacks(), &impl->engine) != TVB_OK &&
        config.pooling != 0) {
        // The pool reserves address space for every instance up front; where
        // that is not available (a `ulimit -v`, ThreadSanitizer's restricted
        // address space), instances are allocated one by one instead.
        config.pooling = 0;
        impl->options.pooling = false;
        tvb_engine_new(&config, &detail::host_callbacks(), &impl->engine);
    }
    if (impl->engine == nullptr) {
        return Error(ErrorCode::engine, "cannot create the Wasmtime engine: " + bridge_error());
    }
    impl->compat_hash = tvb_engine_compatibility_hash(impl->engine);
    impl->ticker = std::make_unique<EpochTicker>(impl->engine, options.epoch_tick);
    return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
}

Component::~Component() {
    tvb_component_free(raw_->handle);
    delete raw_;
}

ComponentInterfaces Component::interfaces() const {
    ComponentInterfaces out;
    tvb_component_interfaces(
        raw_->handle, &out, [](void* user, int32_t kind, const char* name, size_t len) {
            auto& o = *static_cast<ComponentInterfaces*>(user);
            // Names come from the component file.
            (kind == 0 ? o.imports : o.exports)
                .push_back(guest_text(std::string_view(name, len), limits::kMaxGuestTextBytes));
        });
    return out;
}

PreparedComponent::~PreparedComponent() {
    tvb_prepared_free(raw_->handle);
    delete raw_;
}

Result<std::shared_ptr<const Component>> Runtime::compile(std::span<const std::uint8_t> bytes) {
    tvb_component* c = nullptr;
    if (tvb_component_compile(impl_->engine, bytes.data(), bytes.size(), &c) != TVB_OK) {
        return Error(ErrorCode::component_invalid,
                     "not a valid WebAssembly component: " + bridge_error(), {},
                     "build it with torvyn_add_component or `wasm-tools component new`");
    }
    return std::shared_ptr<const Component>(new Component(new Component::Raw{c}));
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
            if (tvb_component_deserialize_file(impl_->engine, cached.c_str(), &c) == TVB_OK) {
                li.cache_hit = true;
                li.load_time = std::chrono::steady_clock::now() - start;
                return std::shared_ptr<const Component>(new Component(new Component::Raw{c}));
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
        if (tvb_component_serialize(component.value()->raw_->handle, &data, &len) == TVB_OK) {
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

Result<std::shared_ptr<const PreparedComponent>> Runtime::prepare(const Component& component,
                                                                  Role role, const Grants& grants) {
    tvb_grants g{};
    g.stdout_ = grants.stdout_stream ? 1 : 0;
    g.stderr_ = grants.stderr_stream ? 1 : 0;
    g.wall_clock = grants.wall_clock ? 1 : 0;
    g.monotonic_clock = grants.monotonic_clock ? 1 : 0;
    g.random = grants.random ? 1 : 0;
    g.exit = grants.exit ? 1 : 0;
    g.null_devices = grants.null_devices ? 1 : 0;
    // The bridge copies everything these point to before tvb_prepare returns.
    std::vector<std::string> host_paths;
    host_paths.reserve(grants.dirs.size());
    std::vector<tvb_dir_grant> dirs;
    for (const auto& d : grants.dirs) {
        host_paths.push_back(d.host.string());
        dirs.push_back(tvb_dir_grant{host_paths.back().c_str(), d.guest.c_str(),
                                     d.writable ? uint8_t{1} : uint8_t{0}});
    }
    std::vector<tvb_env_var> env;
    for (const auto& [name, value] : grants.env) {
        env.push_back(tvb_env_var{name.c_str(), value.c_str()});
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
        g.audit_deny = [](void* user, const char* what, size_t len) {
            (*static_cast<std::function<void(std::string_view)>*>(user))(
                std::string_view(what, len));
        };
    }
    tvb_prepared* p = nullptr;
    const tvb_status status =
        tvb_prepare(impl_->engine, component.raw_->handle, static_cast<int32_t>(role), &g, &p);
    if (status == TVB_MISSING_EXPORT) {
        return Error(ErrorCode::component_wrong_world,
                     fmt::format("component does not export {} (role '{}')", role_interface(role),
                                 role_name(role)),
                     {},
                     fmt::format("build it for the '{}' world (torvyn_add_component ROLE {}) or "
                                 "change the node's role",
                                 role_world(role), role_name(role)));
    }
    if (status == TVB_LINK_ERROR) {
        return Error(ErrorCode::component_link, "cannot link component: " + bridge_error());
    }
    if (status == TVB_INVALID_ARGUMENT) {
        return Error(ErrorCode::grant_invalid, bridge_error());
    }
    if (status != TVB_OK) {
        return Error(ErrorCode::engine, bridge_error());
    }
    return std::shared_ptr<const PreparedComponent>(
        new PreparedComponent(new PreparedComponent::Raw{p, std::move(on_denied)}, role));
}

Result<std::unique_ptr<Instance>> Runtime::instantiate(const PreparedComponent& prepared,
                                                       NodeHost& host,
                                                       const InstanceLimits& limits) {
    tvb_instance_limits l{};
    l.max_memory_bytes = limits.max_memory_bytes;
    l.max_table_elements = limits.max_table_elements != 0 ? limits.max_table_elements
                                                          : limits::kDefaultMaxTableElements;
    l.call_deadline_ms = static_cast<std::uint64_t>(limits.call_deadline.count());
    l.fuel = limits.fuel;
    tvb_instance* i = nullptr;
    const tvb_status status = tvb_instance_new(prepared.raw_->handle, &host, &l, &i);
    if (status != TVB_OK) {
        const ErrorCode code = status == TVB_LIMIT || status == TVB_HOST_LIMIT
                                   ? ErrorCode::guest_limit
                               : status == TVB_TRAP             ? ErrorCode::guest_trap
                               : status == TVB_DEADLINE         ? ErrorCode::guest_deadline
                               : status == TVB_INVALID_ARGUMENT ? ErrorCode::grant_invalid
                                                                : ErrorCode::engine;
        return Error(code, "cannot instantiate component: " + bridge_error());
    }
    return std::unique_ptr<Instance>(new Instance(new Instance::Raw{i}, prepared.role(), host));
}

Status check_wit(const std::filesystem::path& dir) {
    if (tvb_wit_check(dir.c_str()) == TVB_OK) {
        return {};
    }
    // wit-parser renders the place as "--> file:line:col"; lift it out.
    std::string text = bridge_error();
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

Instance::~Instance() {
    tvb_instance_free(raw_->handle);
    delete raw_;
}

bool Instance::has_lifecycle() const {
    return tvb_instance_has_lifecycle(raw_->handle) != 0;
}

CallResult Instance::finish(int status, const void* guest_error) {
    CallResult r;
    switch (status) {
        case TVB_OK:
            return r;
        case TVB_GUEST_ERROR:
            r.status = CallStatus::guest_error;
            r.guest_kind =
                static_cast<GuestErrorKind>(static_cast<const tvb_guest_error*>(guest_error)->kind);
            break;
        case TVB_TRAP:
            r.status = CallStatus::trap;
            break;
        case TVB_DEADLINE:
            r.status = CallStatus::deadline;
            break;
        case TVB_LIMIT:
            r.status = CallStatus::limit;
            break;
        case TVB_STOPPED:
            r.status = CallStatus::stopped;
            break;
        case TVB_HOST_LIMIT:
            r.status = CallStatus::host_limit;
            break;
        default:
            r.status = CallStatus::internal;
            break;
    }
    // Guest text (the bridge cut it to limits::kMaxGuestTextBytes): escaped
    // here, so every report, log and terminal downstream gets it safe.
    r.message = escape_guest_text(bridge_error());
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

namespace {
tvb_element lend(const ElementRef& in, const NodeHost& host) {
    return tvb_element{in.sequence, in.timestamp_ns, in.payload, host.context_handle};
}
void copy_output(const tvb_output& o, Produced& out) {
    out.present = o.present != 0;
    out.sequence = o.sequence;
    out.timestamp_ns = o.timestamp_ns;
    out.payload = o.payload;
}
}  // namespace

CallResult Instance::init(std::string_view config) {
    tvb_guest_error err{};
    return finish(tvb_call_init(raw_->handle, config.data(), config.size(), &err), &err);
}

CallResult Instance::teardown() {
    return finish(tvb_call_teardown(raw_->handle), nullptr);
}

CallResult Instance::pull(Produced& out) {
    tvb_output o{};
    tvb_guest_error err{};
    CallResult r = finish(tvb_call_pull(raw_->handle, host_.context_handle, &o, &err), &err);
    if (!r.ok()) {
        return r;
    }
    copy_output(o, out);
    return adopt(out);
}

CallResult Instance::notify(bool pause) {
    return finish(tvb_call_notify(raw_->handle, pause ? 1 : 0), nullptr);
}

CallResult Instance::process(const ElementRef& in, Produced& out) {
    const tvb_element e = lend(in, host_);
    tvb_output o{};
    tvb_guest_error err{};
    CallResult r = finish(tvb_call_process(raw_->handle, &e, &o, &err), &err);
    if (!r.ok()) {
        return r;
    }
    copy_output(o, out);
    return adopt(out);
}

CallResult Instance::push(const ElementRef& in, bool& pause) {
    const tvb_element e = lend(in, host_);
    int32_t p = 0;
    tvb_guest_error err{};
    CallResult r = finish(tvb_call_push(raw_->handle, &e, &p, &err), &err);
    pause = p != 0;
    return r;
}

CallResult Instance::complete() {
    tvb_guest_error err{};
    return finish(tvb_call_complete(raw_->handle, &err), &err);
}

CallResult Instance::accept(const ElementRef& in, bool& accepted) {
    const tvb_element e = lend(in, host_);
    int32_t a = 0;
    tvb_guest_error err{};
    CallResult r = finish(tvb_call_accept(raw_->handle, &e, &a, &err), &err);
    accepted = a != 0;
    return r;
}

CallResult Instance::ports(std::vector<std::string>& names) {
    names.clear();
    return finish(tvb_call_ports(raw_->handle, &names,
                                 [](void* user, const char* name, size_t len) {
                                     static_cast<std::vector<std::string>*>(user)->emplace_back(
                                         name, len);
                                 }),
                  nullptr);
}

CallResult Instance::route(const ElementRef& in, std::vector<std::string>& ports) {
    const tvb_element e = lend(in, host_);
    ports.clear();
    tvb_guest_error err{};
    return finish(tvb_call_route(
                      raw_->handle, &e, &ports,
                      [](void* user, const char* name, size_t len) {
                          static_cast<std::vector<std::string>*>(user)->emplace_back(name, len);
                      },
                      &err),
                  &err);
}

CallResult Instance::ingest(const ElementRef& in, Produced& out) {
    const tvb_element e = lend(in, host_);
    tvb_output o{};
    tvb_guest_error err{};
    CallResult r = finish(tvb_call_ingest(raw_->handle, &e, &o, &err), &err);
    if (!r.ok()) {
        return r;
    }
    copy_output(o, out);
    return adopt(out);
}

CallResult Instance::flush(std::vector<Produced>& out) {
    out.clear();
    tvb_guest_error err{};
    CallResult r = finish(tvb_call_flush(
                              raw_->handle, &out,
                              [](void* user, const tvb_output* o) {
                                  Produced p;
                                  copy_output(*o, p);
                                  static_cast<std::vector<Produced>*>(user)->push_back(p);
                              },
                              &err),
                          &err);
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

}  // namespace torvyn
