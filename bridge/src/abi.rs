//! The exported C functions. Each one validates its pointers, runs the
//! operation inside `guard` (no panic crosses into C++), and maps results to
//! `tvb_status` plus a thread-local message.

use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::ResourceTableError;
use wasmtime::component::{Component, InstancePre, Linker, Resource, types::ComponentItem};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Store,
    StoreLimitsBuilder, Trap, UpdateDeadline,
};

use crate::bindings::exports::torvyn::streaming as ex;
use crate::bindings::torvyn::streaming::types::{
    BackpressureSignal, ElementMeta, OutputElement, ProcessError, StreamElement,
};
use crate::host::{
    BufferRep, CallClock, FlowContextRep, GuestLimits, HostCallbacks, NodeData, Stopped,
};
use crate::wasi::{Grants, tvb_grants};

#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_status {
    TVB_OK = 0,
    TVB_GUEST_ERROR = 1,
    TVB_TRAP = 2,
    TVB_DEADLINE = 3,
    TVB_LIMIT = 4,
    TVB_COMPILE_ERROR = 5,
    TVB_LINK_ERROR = 6,
    TVB_MISSING_EXPORT = 7,
    TVB_INVALID_ARGUMENT = 8,
    TVB_INTERNAL = 9,
    TVB_STOPPED = 10,
    TVB_HOST_LIMIT = 11,
}
use tvb_status::*;

#[repr(C)]
pub struct tvb_guest_error {
    pub kind: i32,
}

#[repr(C)]
pub struct tvb_element {
    pub sequence: u64,
    pub timestamp_ns: u64,
    pub payload: u32,
    pub context: u32,
}

#[repr(C)]
pub struct tvb_output {
    pub present: u8,
    pub sequence: u64,
    pub timestamp_ns: u64,
    pub payload: u32,
}

#[repr(C)]
pub struct tvb_engine_config {
    pub pooling: u8,
    pub max_instances: u32,
    pub max_memory_bytes: u64,
    pub optimize: u8,
    pub fuel: u8,
    pub limits: GuestLimits,
}

#[repr(C)]
pub struct tvb_instance_limits {
    pub max_memory_bytes: u64,
    pub max_table_elements: u64,
    pub call_deadline_ms: u64,
    pub fuel: u64,
}

pub struct tvb_engine {
    engine: Engine,
    callbacks: HostCallbacks,
    max_memory_bytes: u64,
    fuel: bool,
    limits: GuestLimits,
    // Ticks so far, advanced with the engine's epoch: calls measure their
    // deadline against it.
    epoch: Arc<AtomicU64>,
}

pub struct tvb_component {
    component: Component,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Source,
    Processor,
    Sink,
    Filter,
    Router,
    Aggregator,
}

impl Role {
    fn from_i32(v: i32) -> Option<Role> {
        Some(match v {
            0 => Role::Source,
            1 => Role::Processor,
            2 => Role::Sink,
            3 => Role::Filter,
            4 => Role::Router,
            5 => Role::Aggregator,
            _ => return None,
        })
    }

    fn interface(self) -> &'static str {
        match self {
            Role::Source => "torvyn:streaming/source@0.1.0",
            Role::Processor => "torvyn:streaming/processor@0.1.0",
            Role::Sink => "torvyn:streaming/sink@0.1.0",
            Role::Filter => "torvyn:streaming/filter@0.1.0",
            Role::Router => "torvyn:streaming/router@0.1.0",
            Role::Aggregator => "torvyn:streaming/aggregator@0.1.0",
        }
    }
}

enum RoleIndices {
    Source(ex::source::GuestIndices),
    Processor(ex::processor::GuestIndices),
    Sink(ex::sink::GuestIndices),
    Filter(ex::filter::GuestIndices),
    Router(ex::router::GuestIndices),
    Aggregator(ex::aggregator::GuestIndices),
}

enum RoleGuest {
    Source(ex::source::Guest),
    Processor(ex::processor::Guest),
    Sink(ex::sink::Guest),
    Filter(ex::filter::Guest),
    Router(ex::router::Guest),
    Aggregator(ex::aggregator::Guest),
}

pub struct tvb_prepared {
    pre: InstancePre<NodeData>,
    role: RoleIndices,
    lifecycle: Option<ex::lifecycle::GuestIndices>,
    grants: Grants,
    callbacks: HostCallbacks,
    engine_max_memory: u64,
    fuel: bool,
    limits: GuestLimits,
    epoch: Arc<AtomicU64>,
}

pub struct tvb_instance {
    store: Store<NodeData>,
    guest: RoleGuest,
    lifecycle: Option<ex::lifecycle::Guest>,
    limits: GuestLimits,
    fuel: Option<u64>, // per call, when the engine meters fuel
}

// --- error plumbing ---------------------------------------------------------

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_error(message: String) {
    LAST_ERROR.with(|e| *e.borrow_mut() = message);
}

/// Guest text as the host may keep it: at most `max` bytes (cut on a
/// character boundary) and, when cut, the original length noted.
fn guest_text(text: &str, max: u64) -> String {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... (cut; {} bytes in all)", &text[..end], text.len())
}

fn fail(status: tvb_status, message: impl Into<String>) -> tvb_status {
    set_error(message.into());
    status
}

/// Runs `f`, turning a panic into `TVB_INTERNAL` so nothing unwinds into C++.
fn guard(f: impl FnOnce() -> tvb_status) -> tvb_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(status) => status,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            fail(TVB_INTERNAL, format!("bridge panic: {what}"))
        }
    }
}

/// Classifies a failed guest call. After any of these the instance is dead.
fn call_failure(err: wasmtime::Error, limits: &GuestLimits) -> tvb_status {
    // The root cause says what happened ("wasm trap: ..."); the outer layers
    // are Wasmtime's context and a backtrace, of which the top frame helps.
    let mut text = err.root_cause().to_string();
    if let Some(name) = err
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .and_then(|bt| bt.frames().first())
        .and_then(|frame| frame.func_name())
    {
        text.push_str(&format!(" (in {name})"));
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return fail(TVB_TRAP, format!("the component called exit({})", exit.0));
    }
    if err.downcast_ref::<Stopped>().is_some() {
        return fail(TVB_STOPPED, Stopped.to_string());
    }
    if let Some(ResourceTableError::Full) = err.downcast_ref::<ResourceTableError>() {
        return fail(
            TVB_HOST_LIMIT,
            format!(
                "the component holds {} WASI resources (streams, pollables, sockets ...), \
                 the most one node may hold",
                limits.wasi_resources
            ),
        );
    }
    let status = match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => TVB_DEADLINE,
        Some(Trap::OutOfFuel) => {
            text = "fuel budget exhausted".to_string();
            TVB_LIMIT
        }
        // Wasmtime reports these as text only; the phrases are stable in 48.
        _ if text.contains("fuel allocated for hostcalls has been exhausted") => {
            text = format!(
                "the component passed more than {} bytes to the host in one call",
                limits.call_transfer_bytes
            );
            TVB_HOST_LIMIT
        }
        _ if text.contains("store handle limit exceeded") => {
            text = format!(
                "the component holds {} handles, the most one instance may hold",
                limits.component_handles
            );
            TVB_HOST_LIMIT
        }
        _ if text.contains("forcing trap when growing")
            || text.contains("exceeds memory limits")
            || text.contains("exceeds table limits") =>
        {
            TVB_LIMIT
        }
        _ => TVB_TRAP,
    };
    // The function name comes from the component's own name section.
    fail(status, guest_text(&text, limits.text_bytes))
}

/// A list the guest returned that is longer than the host accepts.
fn list_too_long(what: &str, len: usize, limits: &GuestLimits) -> tvb_status {
    fail(
        TVB_HOST_LIMIT,
        format!(
            "{what} returned {len} items; at most {} are accepted",
            limits.list_items
        ),
    )
}

fn guest_error(e: ProcessError, out: *mut tvb_guest_error, limits: &GuestLimits) -> tvb_status {
    let (kind, message) = match e {
        ProcessError::InvalidInput(m) => (0, m),
        ProcessError::Unavailable(m) => (1, m),
        ProcessError::Internal(m) => (2, m),
        ProcessError::DeadlineExceeded => (3, String::new()),
        ProcessError::Fatal(m) => (4, m),
    };
    if !out.is_null() {
        unsafe { (*out).kind = kind };
    }
    fail(TVB_GUEST_ERROR, guest_text(&message, limits.text_bytes))
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_last_error(data: *mut *const u8, len: *mut usize) {
    LAST_ERROR.with(|e| {
        let e = e.borrow();
        if !data.is_null() && !len.is_null() {
            // The String lives in thread-local storage until the next bridge
            // call on this thread replaces it.
            unsafe {
                *data = e.as_ptr();
                *len = e.len();
            }
        }
    });
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_set_trap_message(data: *const u8, len: usize) {
    let bytes = if data.is_null() || len == 0 {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(data, len) }
    };
    crate::host::set_trap_message(String::from_utf8_lossy(bytes).into_owned());
}

// --- engine -----------------------------------------------------------------

static VERSION: &CStr = c"48.0.8";

#[unsafe(no_mangle)]
pub extern "C" fn tvb_wasmtime_version() -> *const c_char {
    VERSION.as_ptr()
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_engine_new(
    config: *const tvb_engine_config,
    callbacks: *const HostCallbacks,
    out: *mut *mut tvb_engine,
) -> tvb_status {
    guard(|| {
        if config.is_null() || callbacks.is_null() || out.is_null() {
            return fail(TVB_INVALID_ARGUMENT, "tvb_engine_new: null argument");
        }
        let (cfg, callbacks) = unsafe { (&*config, *callbacks) };
        let mut c = Config::new();
        c.wasm_component_model(true);
        // Synchronous calls only: the async machinery costs on every call.
        c.concurrency_support(false);
        c.epoch_interruption(true);
        // Fuel metering costs on every instruction: only when asked for.
        c.consume_fuel(cfg.fuel != 0);
        c.cranelift_opt_level(if cfg.optimize != 0 {
            OptLevel::Speed
        } else {
            OptLevel::None
        });
        if cfg.pooling != 0 {
            let mut pool = PoolingAllocationConfig::default();
            let instances = cfg.max_instances.max(1);
            pool.total_component_instances(instances);
            // A C/C++ guest is a handful of core instances and one memory.
            pool.total_core_instances(instances.saturating_mul(4));
            pool.total_memories(instances.saturating_mul(2));
            pool.total_tables(instances.saturating_mul(2));
            pool.total_stacks(instances);
            pool.max_memory_size(cfg.max_memory_bytes as usize);
            c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        match Engine::new(&c) {
            Ok(engine) => {
                let e = Box::new(tvb_engine {
                    engine,
                    callbacks,
                    max_memory_bytes: cfg.max_memory_bytes,
                    fuel: cfg.fuel != 0,
                    limits: cfg.limits,
                    epoch: Arc::new(AtomicU64::new(0)),
                });
                unsafe { *out = Box::into_raw(e) };
                TVB_OK
            }
            Err(e) => fail(TVB_INTERNAL, format!("cannot create engine: {e:#}")),
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_engine_free(engine: *mut tvb_engine) {
    if !engine.is_null() {
        drop(unsafe { Box::from_raw(engine) });
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_engine_increment_epoch(engine: *const tvb_engine) {
    if let Some(e) = unsafe { engine.as_ref() } {
        e.epoch.fetch_add(1, Ordering::Relaxed);
        e.engine.increment_epoch();
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_engine_compatibility_hash(engine: *const tvb_engine) -> u64 {
    use std::hash::{Hash, Hasher};
    let Some(e) = (unsafe { engine.as_ref() }) else {
        return 0;
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    e.engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

// --- components -------------------------------------------------------------

fn store_component(c: Component, out: *mut *mut tvb_component) -> tvb_status {
    unsafe { *out = Box::into_raw(Box::new(tvb_component { component: c })) };
    TVB_OK
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_compile(
    engine: *const tvb_engine,
    bytes: *const u8,
    len: usize,
    out: *mut *mut tvb_component,
) -> tvb_status {
    guard(|| {
        let Some(e) = (unsafe { engine.as_ref() }) else {
            return fail(TVB_INVALID_ARGUMENT, "null engine");
        };
        if bytes.is_null() || out.is_null() {
            return fail(TVB_INVALID_ARGUMENT, "null argument");
        }
        let data = unsafe { std::slice::from_raw_parts(bytes, len) };
        match Component::new(&e.engine, data) {
            Ok(c) => store_component(c, out),
            Err(err) => fail(TVB_COMPILE_ERROR, format!("{err:#}")),
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_serialize(
    component: *const tvb_component,
    data: *mut *mut u8,
    len: *mut usize,
) -> tvb_status {
    guard(|| {
        let Some(c) = (unsafe { component.as_ref() }) else {
            return fail(TVB_INVALID_ARGUMENT, "null component");
        };
        match c.component.serialize() {
            Ok(bytes) => {
                let boxed = bytes.into_boxed_slice();
                unsafe {
                    *len = boxed.len();
                    *data = Box::into_raw(boxed) as *mut u8;
                }
                TVB_OK
            }
            Err(err) => fail(TVB_INTERNAL, format!("{err:#}")),
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_bytes_free(data: *mut u8, len: usize) {
    if !data.is_null() {
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) });
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_deserialize_file(
    engine: *const tvb_engine,
    path: *const c_char,
    out: *mut *mut tvb_component,
) -> tvb_status {
    guard(|| {
        let Some(e) = (unsafe { engine.as_ref() }) else {
            return fail(TVB_INVALID_ARGUMENT, "null engine");
        };
        if path.is_null() || out.is_null() {
            return fail(TVB_INVALID_ARGUMENT, "null argument");
        }
        let path = unsafe { CStr::from_ptr(path) }
            .to_string_lossy()
            .into_owned();
        // Safety: the host only passes artifacts it wrote itself into its
        // private cache, keyed by this engine's compatibility hash.
        match unsafe { Component::deserialize_file(&e.engine, &path) } {
            Ok(c) => store_component(c, out),
            Err(err) => fail(TVB_COMPILE_ERROR, format!("{path}: {err:#}")),
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_free(component: *mut tvb_component) {
    if !component.is_null() {
        drop(unsafe { Box::from_raw(component) });
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_interfaces(
    component: *const tvb_component,
    user: *mut c_void,
    each: extern "C" fn(*mut c_void, i32, *const u8, usize),
) {
    let _ = guard(|| {
        let Some(c) = (unsafe { component.as_ref() }) else {
            return TVB_INVALID_ARGUMENT;
        };
        let ty = c.component.component_type();
        let engine = c.component.engine();
        for (name, _) in ty.imports(engine) {
            each(user, 0, name.as_ptr(), name.len());
        }
        for (name, item) in ty.exports(engine) {
            if matches!(
                item.ty,
                ComponentItem::ComponentInstance(_) | ComponentItem::ComponentFunc(_)
            ) {
                each(user, 1, name.as_ptr(), name.len());
            }
        }
        TVB_OK
    });
}

// --- linking ----------------------------------------------------------------

#[unsafe(no_mangle)]
pub extern "C" fn tvb_prepare(
    engine: *const tvb_engine,
    component: *const tvb_component,
    role: i32,
    grants: *const tvb_grants,
    out: *mut *mut tvb_prepared,
) -> tvb_status {
    guard(|| {
        let (Some(e), Some(c)) = (unsafe { engine.as_ref() }, unsafe { component.as_ref() }) else {
            return fail(TVB_INVALID_ARGUMENT, "null engine or component");
        };
        let Some(role) = Role::from_i32(role) else {
            return fail(TVB_INVALID_ARGUMENT, format!("unknown role {role}"));
        };
        let grants = match Grants::from_c(unsafe { grants.as_ref() }) {
            Ok(g) => g,
            Err(msg) => return fail(TVB_INVALID_ARGUMENT, msg),
        };
        let mut linker = Linker::<NodeData>::new(&e.engine);
        if let Err(err) = crate::host::add_torvyn_to_linker(&mut linker) {
            return fail(TVB_INTERNAL, format!("{err:#}"));
        }
        if let Err(err) = crate::wasi::add_granted_to_linker(&mut linker, &grants) {
            return fail(TVB_INTERNAL, format!("{err:#}"));
        }
        let pre = match linker.instantiate_pre(&c.component) {
            Ok(pre) => pre,
            Err(err) => return fail(TVB_LINK_ERROR, format!("{err:#}")),
        };
        let indices = match role {
            Role::Source => ex::source::GuestIndices::new(&pre).map(RoleIndices::Source),
            Role::Processor => ex::processor::GuestIndices::new(&pre).map(RoleIndices::Processor),
            Role::Sink => ex::sink::GuestIndices::new(&pre).map(RoleIndices::Sink),
            Role::Filter => ex::filter::GuestIndices::new(&pre).map(RoleIndices::Filter),
            Role::Router => ex::router::GuestIndices::new(&pre).map(RoleIndices::Router),
            Role::Aggregator => {
                ex::aggregator::GuestIndices::new(&pre).map(RoleIndices::Aggregator)
            }
        };
        let indices = match indices {
            Ok(i) => i,
            Err(err) => {
                return fail(
                    TVB_MISSING_EXPORT,
                    format!("does not export {}: {err:#}", role.interface()),
                );
            }
        };
        let lifecycle = ex::lifecycle::GuestIndices::new(&pre).ok();
        let p = Box::new(tvb_prepared {
            pre,
            role: indices,
            lifecycle,
            grants,
            callbacks: e.callbacks,
            engine_max_memory: e.max_memory_bytes,
            fuel: e.fuel,
            limits: e.limits,
            epoch: e.epoch.clone(),
        });
        unsafe { *out = Box::into_raw(p) };
        TVB_OK
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_prepared_free(prepared: *mut tvb_prepared) {
    if !prepared.is_null() {
        drop(unsafe { Box::from_raw(prepared) });
    }
}

// --- instances --------------------------------------------------------------

#[unsafe(no_mangle)]
pub extern "C" fn tvb_instance_new(
    prepared: *const tvb_prepared,
    node: *mut c_void,
    limits: *const tvb_instance_limits,
    out: *mut *mut tvb_instance,
) -> tvb_status {
    guard(|| {
        let Some(p) = (unsafe { prepared.as_ref() }) else {
            return fail(TVB_INVALID_ARGUMENT, "null prepared component");
        };
        if out.is_null() {
            return fail(TVB_INVALID_ARGUMENT, "null out");
        }
        let (mem, tables, deadline_ms, fuel) = match unsafe { limits.as_ref() } {
            Some(l) => (
                l.max_memory_bytes,
                l.max_table_elements,
                l.call_deadline_ms,
                l.fuel,
            ),
            None => (0, 0, 0, 0),
        };
        let mem = if mem == 0 {
            p.engine_max_memory
        } else {
            mem.min(p.engine_max_memory)
        };
        let mut builder = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(mem).unwrap_or(usize::MAX))
            .trap_on_grow_failure(true);
        if tables != 0 {
            builder = builder.table_elements(usize::try_from(tables).unwrap_or(usize::MAX));
        }
        let wasi = match crate::wasi::new_state(&p.grants, node, p.callbacks, &p.limits) {
            Ok(w) => w,
            Err(err) => {
                return fail(
                    TVB_INVALID_ARGUMENT,
                    format!("cannot grant access: {err:#}"),
                );
            }
        };
        let clock = CallClock {
            epoch: p.epoch.clone(),
            call_epoch: 0,
            deadline_ticks: deadline_ms,
            node,
            should_stop: p.callbacks.should_stop,
            check_ticks: p.limits.stop_check_ms.max(1),
        };
        let data = NodeData {
            node,
            callbacks: p.callbacks,
            limits: builder.build(),
            clock,
            wasi,
        };
        let mut store = Store::new(p.pre.engine(), data);
        store.limiter(|d| &mut d.limits);
        // What a guest can make the host hold outside its own memory.
        store
            .set_hostcall_fuel(usize::try_from(p.limits.call_transfer_bytes).unwrap_or(usize::MAX));
        store.set_max_component_handles(
            usize::try_from(p.limits.component_handles).unwrap_or(usize::MAX),
        );
        // The epoch deadline is a check-in every few ticks: the call's own
        // deadline is measured here, and the host is asked whether to stop.
        store.epoch_deadline_callback(|ctx| {
            let clock = &ctx.data().clock;
            if clock.stop_requested() {
                return Err(wasmtime::Error::from(Stopped));
            }
            match clock.ticks_left() {
                0 => Ok(UpdateDeadline::Interrupt),
                left => Ok(UpdateDeadline::Continue(left.min(clock.check_ticks))),
            }
        });
        arm_clock(&mut store);
        let fuel = if p.fuel {
            let per_call = if fuel == 0 { u64::MAX } else { fuel };
            if let Err(err) = store.set_fuel(per_call) {
                return fail(TVB_INTERNAL, format!("{err:#}"));
            }
            Some(per_call)
        } else {
            None
        };
        let instance = match p.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(err) => return call_failure(err, &p.limits),
        };
        let guest = match &p.role {
            RoleIndices::Source(i) => i.load(&mut store, &instance).map(RoleGuest::Source),
            RoleIndices::Processor(i) => i.load(&mut store, &instance).map(RoleGuest::Processor),
            RoleIndices::Sink(i) => i.load(&mut store, &instance).map(RoleGuest::Sink),
            RoleIndices::Filter(i) => i.load(&mut store, &instance).map(RoleGuest::Filter),
            RoleIndices::Router(i) => i.load(&mut store, &instance).map(RoleGuest::Router),
            RoleIndices::Aggregator(i) => i.load(&mut store, &instance).map(RoleGuest::Aggregator),
        };
        let guest = match guest {
            Ok(g) => g,
            Err(err) => return fail(TVB_MISSING_EXPORT, format!("{err:#}")),
        };
        let lifecycle = match &p.lifecycle {
            Some(i) => match i.load(&mut store, &instance) {
                Ok(l) => Some(l),
                Err(err) => return fail(TVB_MISSING_EXPORT, format!("{err:#}")),
            },
            None => None,
        };
        let inst = Box::new(tvb_instance {
            store,
            guest,
            lifecycle,
            limits: p.limits,
            fuel,
        });
        unsafe { *out = Box::into_raw(inst) };
        TVB_OK
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_instance_free(instance: *mut tvb_instance) {
    if !instance.is_null() {
        drop(unsafe { Box::from_raw(instance) });
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_instance_has_lifecycle(instance: *const tvb_instance) -> i32 {
    unsafe { instance.as_ref() }.map_or(0, |i| i32::from(i.lifecycle.is_some()))
}

fn element(e: &tvb_element) -> StreamElement {
    StreamElement {
        meta: ElementMeta {
            sequence: e.sequence,
            timestamp_ns: e.timestamp_ns,
        },
        payload: Resource::<BufferRep>::new_borrow(e.payload),
        context: Resource::<FlowContextRep>::new_borrow(e.context),
    }
}

fn write_output(o: Option<OutputElement>, out: *mut tvb_output) {
    let out = unsafe { &mut *out };
    match o {
        Some(o) => {
            out.present = 1;
            out.sequence = o.meta.sequence;
            out.timestamp_ns = o.meta.timestamp_ns;
            out.payload = o.payload.rep();
        }
        None => out.present = 0,
    }
}

/// Starts the clock of a call: its deadline counts from now, and the first
/// check-in is due after at most `check_ticks`.
fn arm_clock(store: &mut Store<NodeData>) {
    let clock = &mut store.data_mut().clock;
    clock.call_epoch = clock.epoch.load(Ordering::Relaxed);
    let first = clock.ticks_left().min(clock.check_ticks);
    store.set_epoch_deadline(first);
}

/// Common shape of every guest call: check pointers, start the call's
/// clock, call, classify the outcome.
fn with_instance(
    instance: *mut tvb_instance,
    f: impl FnOnce(&mut tvb_instance) -> wasmtime::Result<tvb_status>,
) -> tvb_status {
    guard(|| {
        let Some(inst) = (unsafe { instance.as_mut() }) else {
            return fail(TVB_INVALID_ARGUMENT, "null instance");
        };
        arm_clock(&mut inst.store);
        if let Some(fuel) = inst.fuel
            && let Err(err) = inst.store.set_fuel(fuel)
        {
            return fail(TVB_INTERNAL, format!("{err:#}"));
        }
        let limits = inst.limits;
        match f(inst) {
            Ok(status) => status,
            Err(err) => call_failure(err, &limits),
        }
    })
}

/// Port names a router returned: a bounded list of bounded names.
fn check_names(what: &str, names: &[String], limits: &GuestLimits) -> Result<(), tvb_status> {
    if names.len() as u64 > limits.list_items {
        return Err(list_too_long(what, names.len(), limits));
    }
    if let Some(long) = names.iter().find(|n| n.len() as u64 > limits.name_bytes) {
        return Err(fail(
            TVB_HOST_LIMIT,
            format!(
                "{what} returned a port name of {} bytes; at most {} are accepted",
                long.len(),
                limits.name_bytes
            ),
        ));
    }
    Ok(())
}

fn wrong_role() -> wasmtime::Result<tvb_status> {
    Ok(fail(
        TVB_INVALID_ARGUMENT,
        "call does not match the instance's role",
    ))
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_init(
    instance: *mut tvb_instance,
    config: *const c_char,
    len: usize,
    err: *mut tvb_guest_error,
) -> tvb_status {
    with_instance(instance, |i| {
        let Some(l) = &i.lifecycle else {
            return Ok(TVB_OK);
        };
        let bytes = if config.is_null() || len == 0 {
            &[][..]
        } else {
            unsafe { std::slice::from_raw_parts(config as *const u8, len) }
        };
        let text = String::from_utf8_lossy(bytes);
        Ok(match l.call_init(&mut i.store, &text)? {
            Ok(()) => TVB_OK,
            Err(e) => guest_error(e, err, &i.limits),
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_teardown(instance: *mut tvb_instance) -> tvb_status {
    with_instance(instance, |i| {
        if let Some(l) = &i.lifecycle {
            l.call_teardown(&mut i.store)?;
        }
        Ok(TVB_OK)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_pull(
    instance: *mut tvb_instance,
    context: u32,
    out: *mut tvb_output,
    err: *mut tvb_guest_error,
) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Source(g) = &i.guest else {
            return wrong_role();
        };
        let ctx = Resource::<FlowContextRep>::new_borrow(context);
        Ok(match g.call_pull(&mut i.store, ctx)? {
            Ok(o) => {
                write_output(o, out);
                TVB_OK
            }
            Err(e) => guest_error(e, err, &i.limits),
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_notify(instance: *mut tvb_instance, pause: i32) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Source(g) = &i.guest else {
            return wrong_role();
        };
        let signal = if pause != 0 {
            BackpressureSignal::Pause
        } else {
            BackpressureSignal::Ready
        };
        g.call_notify(&mut i.store, signal)?;
        Ok(TVB_OK)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_process(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    out: *mut tvb_output,
    err: *mut tvb_guest_error,
) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Processor(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        Ok(match g.call_process(&mut i.store, e)? {
            Ok(ex::processor::ProcessResult::Emit(o)) => {
                write_output(Some(o), out);
                TVB_OK
            }
            Ok(ex::processor::ProcessResult::Drop) => {
                write_output(None, out);
                TVB_OK
            }
            Err(e) => guest_error(e, err, &i.limits),
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_push(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    pause: *mut i32,
    err: *mut tvb_guest_error,
) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Sink(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        Ok(match g.call_push(&mut i.store, e)? {
            Ok(signal) => {
                unsafe { *pause = i32::from(signal == BackpressureSignal::Pause) };
                TVB_OK
            }
            Err(e) => guest_error(e, err, &i.limits),
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_complete(
    instance: *mut tvb_instance,
    err: *mut tvb_guest_error,
) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Sink(g) = &i.guest else {
            return wrong_role();
        };
        Ok(match g.call_complete(&mut i.store)? {
            Ok(()) => TVB_OK,
            Err(e) => guest_error(e, err, &i.limits),
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_accept(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    accepted: *mut i32,
    err: *mut tvb_guest_error,
) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Filter(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        Ok(match g.call_accept(&mut i.store, e)? {
            Ok(yes) => {
                unsafe { *accepted = i32::from(yes) };
                TVB_OK
            }
            Err(e) => guest_error(e, err, &i.limits),
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_route(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    user: *mut c_void,
    port: extern "C" fn(*mut c_void, *const u8, usize),
    err: *mut tvb_guest_error,
) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Router(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        Ok(match g.call_route(&mut i.store, e)? {
            Ok(ports) => {
                if let Err(status) = check_names("route", &ports, &i.limits) {
                    return Ok(status);
                }
                for p in &ports {
                    port(user, p.as_ptr(), p.len());
                }
                TVB_OK
            }
            Err(e) => guest_error(e, err, &i.limits),
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_ports(
    instance: *mut tvb_instance,
    user: *mut c_void,
    port: extern "C" fn(*mut c_void, *const u8, usize),
) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Router(g) = &i.guest else {
            return wrong_role();
        };
        let ports = g.call_ports(&mut i.store)?;
        if let Err(status) = check_names("ports", &ports, &i.limits) {
            return Ok(status);
        }
        for p in &ports {
            port(user, p.as_ptr(), p.len());
        }
        Ok(TVB_OK)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_ingest(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    out: *mut tvb_output,
    err: *mut tvb_guest_error,
) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Aggregator(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        Ok(match g.call_ingest(&mut i.store, e)? {
            Ok(o) => {
                write_output(o, out);
                TVB_OK
            }
            Err(e) => guest_error(e, err, &i.limits),
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_flush(
    instance: *mut tvb_instance,
    user: *mut c_void,
    each: extern "C" fn(*mut c_void, *const tvb_output),
    err: *mut tvb_guest_error,
) -> tvb_status {
    with_instance(instance, |i| {
        let RoleGuest::Aggregator(g) = &i.guest else {
            return wrong_role();
        };
        Ok(match g.call_flush(&mut i.store)? {
            Ok(list) => {
                // The buffers stay the component's (the host reclaims them
                // with the instance) unless they are handed over below.
                if list.len() as u64 > i.limits.list_items {
                    return Ok(list_too_long("flush", list.len(), &i.limits));
                }
                for o in list {
                    let mut t = tvb_output {
                        present: 0,
                        sequence: 0,
                        timestamp_ns: 0,
                        payload: 0,
                    };
                    write_output(Some(o), &mut t);
                    each(user, &t);
                }
                TVB_OK
            }
            Err(e) => guest_error(e, err, &i.limits),
        })
    })
}

// --- WIT --------------------------------------------------------------------

/// Parses the WIT package in `dir` (with its `deps/`). On failure the error
/// text names the file, line and column.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_wit_check(dir: *const c_char) -> tvb_status {
    guard(|| {
        if dir.is_null() {
            return fail(TVB_INVALID_ARGUMENT, "null path");
        }
        let path = unsafe { CStr::from_ptr(dir) }
            .to_string_lossy()
            .into_owned();
        let mut resolve = wit_parser::Resolve::default();
        match resolve.push_path(&path) {
            Ok(_) => TVB_OK,
            // render_error adds "--> file:line:col" and the source line.
            Err(err) => fail(TVB_INVALID_ARGUMENT, resolve.render_error(&err)),
        }
    })
}
