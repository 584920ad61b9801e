//! Linking a component for a role and its grants, instances (one store
//! each, with the node's limits and clock), and the typed calls of every
//! role, at every contract version. Each entry point returns a `tvb_error*`.

use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::{Instance, InstancePre, Linker, Resource};
use wasmtime::{Store, UpdateDeadline};

use crate::bindings::exports::torvyn::streaming0_1_0 as v1;
use crate::bindings::exports::torvyn::streaming0_2_0 as v2;
use crate::bindings::torvyn::streaming0_1_0::types as t1;
use crate::bindings::torvyn::streaming0_2_0::types as t2;
use crate::engine::{tvb_component, tvb_engine};
use crate::error::{
    Failure, call_failure, fail, guard, guest_failure, guest_text, tvb_error,
    tvb_process_error_kind, tvb_status::*,
};
use crate::host::{BufferRep, FlowContextRep};
use crate::node::{CallClock, Limiter, NodeData, Stopped, tvb_guest_limits, tvb_host_callbacks};
use crate::wasi::{Grants, tvb_grants};

/// The roles of `torvyn:streaming`, in the host's order (core/role.hpp).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_role {
    TVB_ROLE_SOURCE = 0,
    TVB_ROLE_PROCESSOR = 1,
    TVB_ROLE_SINK = 2,
    TVB_ROLE_FILTER = 3,
    TVB_ROLE_ROUTER = 4,
    TVB_ROLE_AGGREGATOR = 5,
}

// One row per role: its enum value and the module bindgen generated for its
// exported interface, at 0.1.0 and at 0.2.0. A component's role export is
// looked up at the current version first. To add a role: a row here and its
// tvb_call_* below.
macro_rules! roles {
    ($($role:ident => $old:ident, $new:ident ($module:ident)),* $(,)?) => {
        enum RoleIndices {
            $($old(v1::$module::GuestIndices), $new(v2::$module::GuestIndices)),*
        }
        enum RoleGuest { $($old(v1::$module::Guest), $new(v2::$module::Guest)),* }
        impl RoleIndices {
            fn new(role: tvb_role, pre: &InstancePre<NodeData>) -> wasmtime::Result<Self> {
                Ok(match role {
                    $(tvb_role::$role => match v2::$module::GuestIndices::new(pre) {
                        Ok(x) => RoleIndices::$new(x),
                        Err(current) => RoleIndices::$old(
                            v1::$module::GuestIndices::new(pre).map_err(|_| current)?,
                        ),
                    }),*
                })
            }
            fn load(&self, store: &mut Store<NodeData>, i: &Instance) -> wasmtime::Result<RoleGuest> {
                Ok(match self {
                    $(RoleIndices::$old(x) => RoleGuest::$old(x.load(&mut *store, i)?),
                      RoleIndices::$new(x) => RoleGuest::$new(x.load(&mut *store, i)?)),*
                })
            }
            /// The contract's minor version the component was built for.
            fn minor(&self) -> u32 {
                match self {
                    $(RoleIndices::$old(_) => 1, RoleIndices::$new(_) => 2),*
                }
            }
        }
    };
}

roles! {
    TVB_ROLE_SOURCE => Source1, Source2(source),
    TVB_ROLE_PROCESSOR => Processor1, Processor2(processor),
    TVB_ROLE_SINK => Sink1, Sink2(sink),
    TVB_ROLE_FILTER => Filter1, Filter2(filter),
    TVB_ROLE_ROUTER => Router1, Router2(router),
    TVB_ROLE_AGGREGATOR => Aggregator1, Aggregator2(aggregator),
}

// The optional batch forms (0.2.0): found beside the role's interface.
enum BatchIndices {
    Processor(v2::batch_processor::GuestIndices),
    Sink(v2::batch_sink::GuestIndices),
    Filter(v2::batch_filter::GuestIndices),
}
enum BatchGuest {
    Processor(v2::batch_processor::Guest),
    Sink(v2::batch_sink::Guest),
    Filter(v2::batch_filter::Guest),
}
impl BatchIndices {
    fn find(role: &RoleIndices, pre: &InstancePre<NodeData>) -> Option<Self> {
        match role {
            RoleIndices::Processor2(_) => v2::batch_processor::GuestIndices::new(pre)
                .ok()
                .map(BatchIndices::Processor),
            RoleIndices::Sink2(_) => v2::batch_sink::GuestIndices::new(pre)
                .ok()
                .map(BatchIndices::Sink),
            RoleIndices::Filter2(_) => v2::batch_filter::GuestIndices::new(pre)
                .ok()
                .map(BatchIndices::Filter),
            _ => None,
        }
    }
    fn load(&self, store: &mut Store<NodeData>, i: &Instance) -> wasmtime::Result<BatchGuest> {
        Ok(match self {
            BatchIndices::Processor(x) => BatchGuest::Processor(x.load(store, i)?),
            BatchIndices::Sink(x) => BatchGuest::Sink(x.load(store, i)?),
            BatchIndices::Filter(x) => BatchGuest::Filter(x.load(store, i)?),
        })
    }
}

enum LifecycleIndices {
    V1(v1::lifecycle::GuestIndices),
    V2(v2::lifecycle::GuestIndices),
}
enum Lifecycle {
    V1(v1::lifecycle::Guest),
    V2(v2::lifecycle::Guest),
}
impl LifecycleIndices {
    fn find(role: &RoleIndices, pre: &InstancePre<NodeData>) -> Option<Self> {
        if role.minor() == 2 {
            v2::lifecycle::GuestIndices::new(pre)
                .ok()
                .map(LifecycleIndices::V2)
        } else {
            v1::lifecycle::GuestIndices::new(pre)
                .ok()
                .map(LifecycleIndices::V1)
        }
    }
    fn load(&self, store: &mut Store<NodeData>, i: &Instance) -> wasmtime::Result<Lifecycle> {
        Ok(match self {
            LifecycleIndices::V1(x) => Lifecycle::V1(x.load(store, i)?),
            LifecycleIndices::V2(x) => Lifecycle::V2(x.load(store, i)?),
        })
    }
}

/// A component linked for one node's role and grants; nothing runs yet.
/// Shareable across threads; instances made from it keep it alive.
pub struct tvb_prepared {
    pre: InstancePre<NodeData>,
    role: RoleIndices,
    batch: Option<BatchIndices>,
    lifecycle: Option<LifecycleIndices>,
    grants: Grants,
    callbacks: tvb_host_callbacks,
    engine_max_memory: u64,
    fuel: bool,
    limits: tvb_guest_limits,
    epoch: Arc<AtomicU64>,
}

/// One store: a component instance with the node's limits. Called by one
/// thread at a time.
pub struct tvb_instance {
    store: Store<NodeData>,
    guest: RoleGuest,
    batch: Option<BatchGuest>,
    lifecycle: Option<Lifecycle>,
    limits: tvb_guest_limits,
    fuel: Option<u64>, // per call, when the engine meters fuel
    scratch: BatchScratch,
}

/// Per-instance limits, applied to the store when it is created.
#[repr(C)]
pub struct tvb_instance_limits {
    /// 0: the engine's limit.
    pub max_memory_bytes: u64,
    /// 0: none.
    pub max_table_elements: u64,
    /// 0: no deadline.
    pub call_deadline_ms: u64,
    /// Per call, when the engine meters fuel; 0: unlimited.
    pub fuel: u64,
}

/// An element lent to a guest for one call.
#[repr(C)]
pub struct tvb_element {
    pub sequence: u64,
    pub timestamp_ns: u64,
    /// Buffer handle, lent as borrow<buffer>.
    pub payload: u32,
    /// Flow-context handle: lent as borrow<flow-context> (0.1.0), or what
    /// `current-context` reads during the call (0.2.0).
    pub context: u32,
}

/// An element a guest handed back: the payload handle is now the host's.
#[repr(C)]
pub struct tvb_output {
    /// 0: none (an exhausted source, a dropped element ...).
    pub present: u8,
    /// Sources (0.2.0): 1 when nothing is ready yet (present is 0); ask
    /// again after `retry_after_ns` (0: when the host sees fit).
    pub pending: u8,
    pub retry_after_ns: u64,
    pub sequence: u64,
    pub timestamp_ns: u64,
    pub payload: u32,
}

/// Bytes (or UTF-8 text) the other side keeps alive for as long as stated.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tvb_bytes {
    pub data: *const u8,
    pub len: usize,
}

/// One element of a batch lent to a guest (0.2.0 batch forms).
#[repr(C)]
pub struct tvb_batch_element {
    pub sequence: u64,
    pub timestamp_ns: u64,
    /// 1: the payload travels by value, bytes `offset .. offset + len` of
    /// the batch's bytes; 0: buffer `payload` is lent.
    pub by_value: u8,
    pub payload: u32,
    pub offset: u32,
    pub len: u32,
    /// Index into the batch's content types.
    pub content_type: u32,
}

/// A batch lent to a guest: the C++ host keeps everything alive for the call.
#[repr(C)]
pub struct tvb_batch {
    pub elements: *const tvb_batch_element,
    pub count: usize,
    pub bytes: tvb_bytes,
    pub content_types: *const tvb_bytes,
    pub content_type_count: usize,
    /// The flow-context handle `current-context` reads during the call.
    pub context: u32,
}

/// What a guest did with one element of a batch.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_batch_outcome {
    /// Processor: emitted `output`; sink: delivered; filter: kept.
    TVB_BATCH_DONE = 0,
    /// Processor: dropped; filter: discarded.
    TVB_BATCH_DISCARDED = 1,
    /// Failed with `error_kind` and `message`.
    TVB_BATCH_FAILED = 2,
}

/// One element's result of a batch call. Byte ranges and content-type
/// indices are as the guest returned them (the C++ host checks them); the
/// texts point into the instance and stay valid until its next call.
#[repr(C)]
pub struct tvb_batch_result {
    pub outcome: tvb_batch_outcome,
    pub sequence: u64,
    pub timestamp_ns: u64,
    /// 1: the output's payload is bytes `offset .. offset + len` of the
    /// result's bytes; 0: `payload` is a buffer handle, now the host's.
    pub by_value: u8,
    pub payload: u32,
    pub offset: u32,
    pub len: u32,
    pub content_type: u32,
    pub error_kind: tvb_process_error_kind,
    pub message: tvb_bytes,
}

/// What a processor's batch call returned besides its per-element results;
/// valid until the instance's next call.
#[repr(C)]
pub struct tvb_batch_output {
    pub bytes: tvb_bytes,
    pub content_types: *const tvb_bytes,
    pub content_type_count: usize,
}

/// What a batch call keeps between calls, so a batch allocates nothing once
/// warm: the elements and content types it lends, and what the guest
/// returned that the C++ host reads after the call.
#[derive(Default)]
struct BatchScratch {
    types_in: Vec<String>,
    bytes_out: Vec<u8>,
    types_out: Vec<String>,
    type_views: Vec<tvb_bytes>,
    messages: Vec<String>,
}

/// Links the torvyn host interfaces and the WASI interfaces `grants` name,
/// and checks that the component exports `role`'s interface.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_prepare(
    engine: *const tvb_engine,
    component: *const tvb_component,
    role: tvb_role,
    grants: *const tvb_grants,
    out: *mut *mut tvb_prepared,
) -> *mut tvb_error {
    guard(|| {
        let (Some(e), Some(c)) = (unsafe { engine.as_ref() }, unsafe { component.as_ref() }) else {
            return Err(fail(TVB_INVALID_ARGUMENT, "null engine or component"));
        };
        let grants = Grants::from_c(unsafe { grants.as_ref() })
            .map_err(|msg| fail(TVB_INVALID_ARGUMENT, msg))?;
        let mut linker = Linker::<NodeData>::new(&e.engine);
        crate::host::add_torvyn_to_linker(&mut linker)
            .and_then(|()| crate::wasi::add_granted_to_linker(&mut linker, &grants))
            .map_err(|err| fail(TVB_INTERNAL, format!("{err:#}")))?;
        let pre = linker
            .instantiate_pre(&c.component)
            .map_err(|err| fail(TVB_LINK_ERROR, format!("{err:#}")))?;
        let indices = RoleIndices::new(role, &pre)
            .map_err(|err| fail(TVB_MISSING_EXPORT, format!("{err:#}")))?;
        let batch = BatchIndices::find(&indices, &pre);
        let lifecycle = LifecycleIndices::find(&indices, &pre);
        unsafe {
            *out = Box::into_raw(Box::new(tvb_prepared {
                pre,
                role: indices,
                batch,
                lifecycle,
                grants,
                callbacks: e.callbacks,
                engine_max_memory: e.max_memory_bytes,
                fuel: e.fuel,
                limits: e.limits,
                epoch: e.epoch.clone(),
            }))
        };
        Ok(())
    })
}

/// The minor version of the contract the component was built for (1 for
/// 0.1.x, 2 for 0.2.x), and whether it exports its role's batch form.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_prepared_contract(
    prepared: *const tvb_prepared,
    minor: *mut u32,
    batched: *mut i32,
) {
    if let Some(p) = unsafe { prepared.as_ref() } {
        unsafe {
            *minor = p.role.minor();
            *batched = i32::from(p.batch.is_some());
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_prepared_free(prepared: *mut tvb_prepared) {
    if !prepared.is_null() {
        drop(unsafe { Box::from_raw(prepared) });
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

fn usize_or_max(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// A fresh instance in its own store; `node` is the C++ host's node,
/// passed back to every callback, and must outlive the instance.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_instance_new(
    prepared: *const tvb_prepared,
    node: *mut c_void,
    limits: *const tvb_instance_limits,
    out: *mut *mut tvb_instance,
) -> *mut tvb_error {
    guard(|| {
        let Some(p) = (unsafe { prepared.as_ref() }) else {
            return Err(fail(TVB_INVALID_ARGUMENT, "null prepared component"));
        };
        if out.is_null() {
            return Err(fail(TVB_INVALID_ARGUMENT, "null out"));
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
        let wasi =
            crate::wasi::new_state(&p.grants, node, p.callbacks, &p.limits).map_err(|err| {
                fail(
                    TVB_INVALID_ARGUMENT,
                    format!("cannot grant access: {err:#}"),
                )
            })?;
        let data = NodeData {
            node,
            callbacks: p.callbacks,
            limiter: Limiter {
                memory_bytes: usize_or_max(mem),
                table_elements: if tables == 0 {
                    usize::MAX
                } else {
                    usize_or_max(tables)
                },
            },
            clock: CallClock {
                epoch: p.epoch.clone(),
                call_epoch: 0,
                deadline_ticks: deadline_ms,
                node,
                should_stop: p.callbacks.should_stop,
                check_ticks: p.limits.stop_check_ms.max(1),
            },
            wasi,
            context: 0,
        };
        let mut store = Store::new(p.pre.engine(), data);
        store.limiter(|d| &mut d.limiter);
        // What a guest can make the host hold outside its own memory.
        store.set_hostcall_fuel(usize_or_max(p.limits.call_transfer_bytes));
        store.set_max_component_handles(usize_or_max(p.limits.component_handles));
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
            store
                .set_fuel(per_call)
                .map_err(|err| fail(TVB_INTERNAL, format!("{err:#}")))?;
            Some(per_call)
        } else {
            None
        };
        let instance = p
            .pre
            .instantiate(&mut store)
            .map_err(|err| call_failure(err, &p.limits))?;
        let guest = p
            .role
            .load(&mut store, &instance)
            .map_err(|err| fail(TVB_MISSING_EXPORT, format!("{err:#}")))?;
        let missing = |err: wasmtime::Error| fail(TVB_MISSING_EXPORT, format!("{err:#}"));
        let lifecycle = match &p.lifecycle {
            Some(i) => Some(i.load(&mut store, &instance).map_err(missing)?),
            None => None,
        };
        let batch = match &p.batch {
            Some(i) => Some(i.load(&mut store, &instance).map_err(missing)?),
            None => None,
        };
        unsafe {
            *out = Box::into_raw(Box::new(tvb_instance {
                store,
                guest,
                batch,
                lifecycle,
                limits: p.limits,
                fuel,
                scratch: BatchScratch::default(),
            }))
        };
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_instance_free(instance: *mut tvb_instance) {
    if !instance.is_null() {
        drop(unsafe { Box::from_raw(instance) });
    }
}

/// 1 if the component exports torvyn:streaming/lifecycle.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_instance_has_lifecycle(instance: *const tvb_instance) -> i32 {
    unsafe { instance.as_ref() }.map_or(0, |i| i32::from(i.lifecycle.is_some()))
}

// --- calls --------------------------------------------------------------------

fn meta1(e: &tvb_element) -> t1::ElementMeta {
    t1::ElementMeta {
        sequence: e.sequence,
        timestamp_ns: e.timestamp_ns,
    }
}

fn meta2(e: &tvb_element) -> t2::ElementMeta {
    t2::ElementMeta {
        sequence: e.sequence,
        timestamp_ns: e.timestamp_ns,
    }
}

/// An element as 0.1.0 lends it: payload and context.
fn element1(e: &tvb_element) -> t1::StreamElement {
    t1::StreamElement {
        meta: meta1(e),
        payload: Resource::<BufferRep>::new_borrow(e.payload),
        context: Resource::<FlowContextRep>::new_borrow(e.context),
    }
}

/// An element as 0.2.0 lends it: the payload only; the context is what
/// `current-context` reads during the call.
fn element2(store: &mut Store<NodeData>, e: &tvb_element) -> t2::StreamElement {
    store.data_mut().context = e.context;
    t2::StreamElement {
        meta: meta2(e),
        payload: Resource::<BufferRep>::new_borrow(e.payload),
    }
}

const NO_OUTPUT: tvb_output = tvb_output {
    present: 0,
    pending: 0,
    retry_after_ns: 0,
    sequence: 0,
    timestamp_ns: 0,
    payload: 0,
};

// An output element of either version, as the C++ host reads it.
macro_rules! output {
    ($o:expr) => {
        match $o {
            Some(o) => tvb_output {
                present: 1,
                sequence: o.meta.sequence,
                timestamp_ns: o.meta.timestamp_ns,
                payload: o.payload.rep(),
                ..NO_OUTPUT
            },
            None => NO_OUTPUT,
        }
    };
}

// A process-error of either version: its kind and text (kept within the limits).
macro_rules! error_parts {
    ($e:expr, $m:ident, $limits:expr) => {{
        use tvb_process_error_kind::*;
        let (kind, message) = match $e {
            $m::ProcessError::InvalidInput(m) => (TVB_ERR_INVALID_INPUT, m),
            $m::ProcessError::Unavailable(m) => (TVB_ERR_UNAVAILABLE, m),
            $m::ProcessError::Internal(m) => (TVB_ERR_INTERNAL, m),
            $m::ProcessError::DeadlineExceeded => (TVB_ERR_DEADLINE_EXCEEDED, String::new()),
            $m::ProcessError::Fatal(m) => (TVB_ERR_FATAL, m),
        };
        (kind, guest_text(&message, $limits.text_bytes))
    }};
}

/// A process-error the guest returned.
fn process_error1(e: t1::ProcessError, limits: &tvb_guest_limits) -> Failure {
    let (kind, text) = error_parts!(e, t1, limits);
    guest_failure(kind, text)
}

fn process_error2(e: t2::ProcessError, limits: &tvb_guest_limits) -> Failure {
    let (kind, text) = error_parts!(e, t2, limits);
    guest_failure(kind, text)
}

/// What a call returns: nothing (ok), or a failure.
type Call = Result<(), Failure>;

/// A guest's answer: its value to `take`, or its process-error for the host.
fn answer1<T>(
    r: Result<T, t1::ProcessError>,
    limits: &tvb_guest_limits,
    take: impl FnOnce(T) -> Call,
) -> Call {
    r.map_err(|e| process_error1(e, limits)).and_then(take)
}

fn answer2<T>(
    r: Result<T, t2::ProcessError>,
    limits: &tvb_guest_limits,
    take: impl FnOnce(T) -> Call,
) -> Call {
    r.map_err(|e| process_error2(e, limits)).and_then(take)
}

/// Common shape of every guest call: check the instance, start the call's
/// clock, call, classify what went wrong.
fn with_instance(
    instance: *mut tvb_instance,
    f: impl FnOnce(&mut tvb_instance) -> wasmtime::Result<Call>,
) -> *mut tvb_error {
    guard(|| {
        let Some(inst) = (unsafe { instance.as_mut() }) else {
            return Err(fail(TVB_INVALID_ARGUMENT, "null instance"));
        };
        arm_clock(&mut inst.store);
        if let Some(fuel) = inst.fuel {
            inst.store
                .set_fuel(fuel)
                .map_err(|err| fail(TVB_INTERNAL, format!("{err:#}")))?;
        }
        let limits = inst.limits;
        f(inst).unwrap_or_else(|err| Err(call_failure(err, &limits)))
    })
}

fn wrong_role() -> wasmtime::Result<Call> {
    Ok(Err(fail(
        TVB_INVALID_ARGUMENT,
        "call does not match the instance's role",
    )))
}

/// A list the guest returned that is longer than the host accepts.
fn list_too_long(what: &str, len: usize, limits: &tvb_guest_limits) -> Failure {
    fail(
        TVB_HOST_LIMIT,
        format!(
            "{what} returned {len} items; at most {} are accepted",
            limits.list_items
        ),
    )
}

/// Port names a router returned: a bounded list of bounded names.
fn check_names(what: &str, names: &[String], limits: &tvb_guest_limits) -> Call {
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

fn report_names(
    names: &[String],
    user: *mut c_void,
    port: extern "C" fn(user: *mut c_void, name: *const u8, len: usize),
) {
    for p in names {
        port(user, p.as_ptr(), p.len());
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_init(
    instance: *mut tvb_instance,
    config: *const c_char,
    len: usize,
) -> *mut tvb_error {
    with_instance(instance, |i| {
        let bytes = if config.is_null() || len == 0 {
            &[][..]
        } else {
            unsafe { std::slice::from_raw_parts(config as *const u8, len) }
        };
        let text = String::from_utf8_lossy(bytes);
        Ok(match &i.lifecycle {
            None => Ok(()),
            Some(Lifecycle::V1(l)) => answer1(l.call_init(&mut i.store, &text)?, &i.limits, Ok),
            Some(Lifecycle::V2(l)) => answer2(l.call_init(&mut i.store, &text)?, &i.limits, Ok),
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_teardown(instance: *mut tvb_instance) -> *mut tvb_error {
    with_instance(instance, |i| {
        match &i.lifecycle {
            None => {}
            Some(Lifecycle::V1(l)) => l.call_teardown(&mut i.store)?,
            Some(Lifecycle::V2(l)) => l.call_teardown(&mut i.store)?,
        }
        Ok(Ok(()))
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_pull(
    instance: *mut tvb_instance,
    context: u32,
    out: *mut tvb_output,
) -> *mut tvb_error {
    with_instance(instance, |i| match &i.guest {
        RoleGuest::Source1(g) => {
            let ctx = Resource::<FlowContextRep>::new_borrow(context);
            let r = g.call_pull(&mut i.store, ctx)?;
            Ok(answer1(r, &i.limits, |o| {
                unsafe { *out = output!(o) };
                Ok(())
            }))
        }
        RoleGuest::Source2(g) => {
            i.store.data_mut().context = context;
            let r = g.call_pull(&mut i.store)?;
            Ok(answer2(r, &i.limits, |pulled| {
                use v2::source::Pulled;
                let o = match pulled {
                    Pulled::Element(o) => output!(Some(o)),
                    Pulled::Pending(ns) => tvb_output {
                        pending: 1,
                        retry_after_ns: ns,
                        ..NO_OUTPUT
                    },
                    Pulled::Exhausted => NO_OUTPUT,
                };
                unsafe { *out = o };
                Ok(())
            }))
        }
        _ => wrong_role(),
    })
}

/// `pause` != 0: the source's downstream is pressured; 0: it has room again.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_notify(instance: *mut tvb_instance, pause: i32) -> *mut tvb_error {
    with_instance(instance, |i| {
        match &i.guest {
            RoleGuest::Source1(g) => {
                use t1::BackpressureSignal::*;
                g.call_notify(&mut i.store, if pause != 0 { Pause } else { Ready })?
            }
            RoleGuest::Source2(g) => {
                use t2::BackpressureSignal::*;
                g.call_notify(&mut i.store, if pause != 0 { Pause } else { Ready })?
            }
            _ => return wrong_role(),
        }
        Ok(Ok(()))
    })
}

/// `out->present` == 0 means the processor dropped the element.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_process(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    out: *mut tvb_output,
) -> *mut tvb_error {
    let input = unsafe { &*input };
    with_instance(instance, |i| match &i.guest {
        RoleGuest::Processor1(g) => {
            let r = g.call_process(&mut i.store, element1(input))?;
            Ok(answer1(r, &i.limits, |result| {
                use v1::processor::ProcessResult::*;
                let emitted = match result {
                    Emit(o) => Some(o),
                    Drop => None,
                };
                unsafe { *out = output!(emitted) };
                Ok(())
            }))
        }
        RoleGuest::Processor2(g) => {
            let e = element2(&mut i.store, input);
            let r = g.call_process(&mut i.store, e)?;
            Ok(answer2(r, &i.limits, |result| {
                use v2::processor::ProcessResult::*;
                let emitted = match result {
                    Emit(o) => Some(o),
                    Drop => None,
                };
                unsafe { *out = output!(emitted) };
                Ok(())
            }))
        }
        _ => wrong_role(),
    })
}

/// `*pause` = 1 when the sink asked to pause.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_push(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    pause: *mut i32,
) -> *mut tvb_error {
    let input = unsafe { &*input };
    with_instance(instance, |i| match &i.guest {
        RoleGuest::Sink1(g) => {
            let r = g.call_push(&mut i.store, element1(input))?;
            Ok(answer1(r, &i.limits, |signal| {
                unsafe { *pause = i32::from(signal == t1::BackpressureSignal::Pause) };
                Ok(())
            }))
        }
        RoleGuest::Sink2(g) => {
            let e = element2(&mut i.store, input);
            let r = g.call_push(&mut i.store, e)?;
            Ok(answer2(r, &i.limits, |signal| {
                unsafe { *pause = i32::from(signal == t2::BackpressureSignal::Pause) };
                Ok(())
            }))
        }
        _ => wrong_role(),
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_complete(instance: *mut tvb_instance) -> *mut tvb_error {
    with_instance(instance, |i| match &i.guest {
        RoleGuest::Sink1(g) => Ok(answer1(g.call_complete(&mut i.store)?, &i.limits, Ok)),
        RoleGuest::Sink2(g) => Ok(answer2(g.call_complete(&mut i.store)?, &i.limits, Ok)),
        _ => wrong_role(),
    })
}

/// `*accepted` = 1 when the filter keeps the element.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_accept(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    accepted: *mut i32,
) -> *mut tvb_error {
    let input = unsafe { &*input };
    let keep = |yes: bool| {
        unsafe { *accepted = i32::from(yes) };
        Ok(())
    };
    with_instance(instance, |i| match &i.guest {
        RoleGuest::Filter1(g) => {
            let r = g.call_accept(&mut i.store, element1(input))?;
            Ok(answer1(r, &i.limits, keep))
        }
        RoleGuest::Filter2(g) => {
            let e = element2(&mut i.store, input);
            let r = g.call_accept(&mut i.store, e)?;
            Ok(answer2(r, &i.limits, keep))
        }
        _ => wrong_role(),
    })
}

/// Calls `port` once per port name the router chose.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_route(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    user: *mut c_void,
    port: extern "C" fn(user: *mut c_void, name: *const u8, len: usize),
) -> *mut tvb_error {
    let input = unsafe { &*input };
    with_instance(instance, |i| {
        let limits = i.limits;
        let chosen = |ports: Vec<String>| {
            check_names("route", &ports, &limits)?;
            report_names(&ports, user, port);
            Ok(())
        };
        match &i.guest {
            RoleGuest::Router1(g) => {
                let r = g.call_route(&mut i.store, element1(input))?;
                Ok(answer1(r, &limits, chosen))
            }
            RoleGuest::Router2(g) => {
                let e = element2(&mut i.store, input);
                let r = g.call_route(&mut i.store, e)?;
                Ok(answer2(r, &limits, chosen))
            }
            _ => wrong_role(),
        }
    })
}

/// Calls `port` once per port name the router declares.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_ports(
    instance: *mut tvb_instance,
    user: *mut c_void,
    port: extern "C" fn(user: *mut c_void, name: *const u8, len: usize),
) -> *mut tvb_error {
    with_instance(instance, |i| {
        let ports = match &i.guest {
            RoleGuest::Router1(g) => g.call_ports(&mut i.store)?,
            RoleGuest::Router2(g) => g.call_ports(&mut i.store)?,
            _ => return wrong_role(),
        };
        Ok(check_names("ports", &ports, &i.limits).map(|()| report_names(&ports, user, port)))
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_ingest(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    out: *mut tvb_output,
) -> *mut tvb_error {
    let input = unsafe { &*input };
    with_instance(instance, |i| match &i.guest {
        RoleGuest::Aggregator1(g) => {
            let r = g.call_ingest(&mut i.store, element1(input))?;
            Ok(answer1(r, &i.limits, |o| {
                unsafe { *out = output!(o) };
                Ok(())
            }))
        }
        RoleGuest::Aggregator2(g) => {
            let e = element2(&mut i.store, input);
            let r = g.call_ingest(&mut i.store, e)?;
            Ok(answer2(r, &i.limits, |o| {
                unsafe { *out = output!(o) };
                Ok(())
            }))
        }
        _ => wrong_role(),
    })
}

/// Calls `each` once per element the aggregator flushed. The buffers stay
/// the component's (the host reclaims them with the instance) unless handed
/// over through `each`.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_flush(
    instance: *mut tvb_instance,
    user: *mut c_void,
    each: extern "C" fn(user: *mut c_void, out: *const tvb_output),
) -> *mut tvb_error {
    with_instance(instance, |i| {
        let limits = i.limits;
        macro_rules! flushed {
            () => {
                |list: Vec<_>| {
                    if list.len() as u64 > limits.list_items {
                        return Err(list_too_long("flush", list.len(), &limits));
                    }
                    for o in list {
                        each(user, &output!(Some(o)));
                    }
                    Ok(())
                }
            };
        }
        match &i.guest {
            RoleGuest::Aggregator1(g) => {
                Ok(answer1(g.call_flush(&mut i.store)?, &limits, flushed!()))
            }
            RoleGuest::Aggregator2(g) => {
                Ok(answer2(g.call_flush(&mut i.store)?, &limits, flushed!()))
            }
            _ => wrong_role(),
        }
    })
}

// --- batch calls (0.2.0) -------------------------------------------------------

/// The batch C++ lent, as the guest's typed call takes it: the elements
/// (lent payloads as borrows), the bytes of those carried by value, the
/// content types (kept in `scratch` between calls).
unsafe fn lend_batch<'a>(
    store: &mut Store<NodeData>,
    batch: &'a tvb_batch,
    types: &mut Vec<String>,
) -> (Vec<t2::BatchElement>, &'a [u8]) {
    store.data_mut().context = batch.context;
    let raw = unsafe { slice(batch.elements, batch.count) };
    let elements = raw
        .iter()
        .map(|e| t2::BatchElement {
            meta: t2::ElementMeta {
                sequence: e.sequence,
                timestamp_ns: e.timestamp_ns,
            },
            payload: if e.by_value != 0 {
                t2::BatchPayload::Inline(t2::ByteRange {
                    offset: e.offset,
                    len: e.len,
                })
            } else {
                t2::BatchPayload::Lent(Resource::<BufferRep>::new_borrow(e.payload))
            },
            content_type: e.content_type,
        })
        .collect();
    let names = unsafe { slice(batch.content_types, batch.content_type_count) };
    types.truncate(names.len());
    for (k, n) in names.iter().enumerate() {
        let text = String::from_utf8_lossy(unsafe { slice(n.data, n.len) });
        match types.get_mut(k) {
            Some(t) if *t == text => {}
            Some(t) => *t = text.into_owned(),
            None => types.push(text.into_owned()),
        }
    }
    (elements, unsafe {
        slice(batch.bytes.data, batch.bytes.len)
    })
}

unsafe fn slice<'a, T>(data: *const T, len: usize) -> &'a [T] {
    if len == 0 || data.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(data, len) }
    }
}

fn view(bytes: &[u8]) -> tvb_bytes {
    tvb_bytes {
        data: bytes.as_ptr(),
        len: bytes.len(),
    }
}

/// One result per element, or the guest broke the batch contract.
fn check_count(what: &str, got: usize, want: usize) -> Call {
    if got == want {
        Ok(())
    } else {
        Err(guest_failure(
            tvb_process_error_kind::TVB_ERR_INTERNAL,
            format!("{what} returned {got} results for a batch of {want} elements"),
        ))
    }
}

const EMPTY_RESULT: tvb_batch_result = tvb_batch_result {
    outcome: tvb_batch_outcome::TVB_BATCH_DONE,
    sequence: 0,
    timestamp_ns: 0,
    by_value: 0,
    payload: 0,
    offset: 0,
    len: 0,
    content_type: 0,
    error_kind: tvb_process_error_kind::TVB_ERR_INTERNAL,
    message: tvb_bytes {
        data: std::ptr::null(),
        len: 0,
    },
};

/// A failed element's result; its text is kept in `messages` until the
/// instance's next call.
fn failed(
    e: t2::ProcessError,
    limits: &tvb_guest_limits,
    messages: &mut Vec<String>,
) -> tvb_batch_result {
    let (kind, text) = error_parts!(e, t2, limits);
    messages.push(text);
    tvb_batch_result {
        outcome: tvb_batch_outcome::TVB_BATCH_FAILED,
        error_kind: kind,
        message: view(messages.last().map_or(&[][..], |m| m.as_bytes())),
        ..EMPTY_RESULT
    }
}

/// A processor's batch: `results` has room for one result per element;
/// `out` tells where the outputs' bytes and content types are.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_process_batch(
    instance: *mut tvb_instance,
    batch: *const tvb_batch,
    results: *mut tvb_batch_result,
    out: *mut tvb_batch_output,
) -> *mut tvb_error {
    let batch = unsafe { &*batch };
    with_instance(instance, |i| {
        let Some(BatchGuest::Processor(g)) = &i.batch else {
            return wrong_role();
        };
        let sc = &mut i.scratch;
        let (elements, bytes) = unsafe { lend_batch(&mut i.store, batch, &mut sc.types_in) };
        let r = g.call_process_batch(&mut i.store, &elements, bytes, &sc.types_in)?;
        if let Err(e) = check_count("process-batch", r.results.len(), batch.count) {
            return Ok(Err(e));
        }
        sc.messages.clear();
        let results = unsafe { std::slice::from_raw_parts_mut(results, batch.count) };
        for (slot, result) in results.iter_mut().zip(r.results) {
            use v2::batch_processor::BatchResult;
            *slot = match result {
                BatchResult::Emit(o) => {
                    let (by_value, payload, offset, len) = match o.payload {
                        t2::OutputPayload::Inline(range) => (1, 0, range.offset, range.len),
                        t2::OutputPayload::Owned(b) => (0, b.rep(), 0, 0),
                    };
                    tvb_batch_result {
                        sequence: o.meta.sequence,
                        timestamp_ns: o.meta.timestamp_ns,
                        by_value,
                        payload,
                        offset,
                        len,
                        content_type: o.content_type,
                        ..EMPTY_RESULT
                    }
                }
                BatchResult::Drop => tvb_batch_result {
                    outcome: tvb_batch_outcome::TVB_BATCH_DISCARDED,
                    ..EMPTY_RESULT
                },
                BatchResult::Failed(e) => failed(e, &i.limits, &mut sc.messages),
            };
        }
        sc.bytes_out = r.bytes;
        sc.types_out = r.content_types;
        sc.type_views.clear();
        sc.type_views
            .extend(sc.types_out.iter().map(|t| view(t.as_bytes())));
        unsafe {
            *out = tvb_batch_output {
                bytes: view(&sc.bytes_out),
                content_types: sc.type_views.as_ptr(),
                content_type_count: sc.type_views.len(),
            }
        };
        Ok(Ok(()))
    })
}

/// A sink's batch: one result per element (DONE or FAILED); `*pause` = 1
/// when the sink asked to pause.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_push_batch(
    instance: *mut tvb_instance,
    batch: *const tvb_batch,
    results: *mut tvb_batch_result,
    pause: *mut i32,
) -> *mut tvb_error {
    let batch = unsafe { &*batch };
    with_instance(instance, |i| {
        let Some(BatchGuest::Sink(g)) = &i.batch else {
            return wrong_role();
        };
        let sc = &mut i.scratch;
        let (elements, bytes) = unsafe { lend_batch(&mut i.store, batch, &mut sc.types_in) };
        let r = g.call_push_batch(&mut i.store, &elements, bytes, &sc.types_in)?;
        if let Err(e) = check_count("push-batch", r.results.len(), batch.count) {
            return Ok(Err(e));
        }
        sc.messages.clear();
        let results = unsafe { std::slice::from_raw_parts_mut(results, batch.count) };
        for (slot, result) in results.iter_mut().zip(r.results) {
            *slot = match result {
                Ok(()) => EMPTY_RESULT,
                Err(e) => failed(e, &i.limits, &mut sc.messages),
            };
        }
        unsafe { *pause = i32::from(r.signal == t2::BackpressureSignal::Pause) };
        Ok(Ok(()))
    })
}

/// A filter's batch: one result per element (DONE keeps it, DISCARDED
/// drops it, or FAILED).
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_accept_batch(
    instance: *mut tvb_instance,
    batch: *const tvb_batch,
    results: *mut tvb_batch_result,
) -> *mut tvb_error {
    let batch = unsafe { &*batch };
    with_instance(instance, |i| {
        let Some(BatchGuest::Filter(g)) = &i.batch else {
            return wrong_role();
        };
        let sc = &mut i.scratch;
        let (elements, bytes) = unsafe { lend_batch(&mut i.store, batch, &mut sc.types_in) };
        let r = g.call_accept_batch(&mut i.store, &elements, bytes, &sc.types_in)?;
        if let Err(e) = check_count("accept-batch", r.len(), batch.count) {
            return Ok(Err(e));
        }
        sc.messages.clear();
        let results = unsafe { std::slice::from_raw_parts_mut(results, batch.count) };
        for (slot, verdict) in results.iter_mut().zip(r) {
            use v2::batch_filter::Verdict;
            *slot = match verdict {
                Verdict::Keep => EMPTY_RESULT,
                Verdict::Discard => tvb_batch_result {
                    outcome: tvb_batch_outcome::TVB_BATCH_DISCARDED,
                    ..EMPTY_RESULT
                },
                Verdict::Failed(e) => failed(e, &i.limits, &mut sc.messages),
            };
        }
        Ok(Ok(()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> tvb_guest_limits {
        tvb_guest_limits {
            call_transfer_bytes: 1 << 20,
            component_handles: 100,
            wasi_resources: 16,
            text_bytes: 64,
            list_items: 2,
            name_bytes: 4,
            stream_write_bytes: 4096,
            stop_check_ms: 10,
        }
    }

    #[test]
    fn port_lists_and_names_are_bounded() {
        let l = limits();
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_names("route", &names(&["a", "b"]), &l).is_ok());
        let too_many = check_names("route", &names(&["a", "b", "c"]), &l).unwrap_err();
        assert_eq!(crate::error::tvb_error_status(&*too_many), TVB_HOST_LIMIT);
        assert!(check_names("route", &names(&["long-name"]), &l).is_err());
    }

    #[test]
    fn process_errors_keep_their_kind_and_bounded_text() {
        let e = process_error2(t2::ProcessError::Fatal("x".repeat(100)), &limits());
        assert_eq!(crate::error::tvb_error_status(&*e), TVB_GUEST_ERROR);
        assert_eq!(
            crate::error::tvb_error_guest_kind(&*e),
            tvb_process_error_kind::TVB_ERR_FATAL
        );
        let (mut data, mut len) = (std::ptr::null(), 0usize);
        crate::error::tvb_error_message(&*e, &mut data, &mut len);
        assert!(len < 100);
    }
}
