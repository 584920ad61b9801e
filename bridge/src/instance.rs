//! Linking a component for a role and its grants, instances (one store
//! each, with the node's limits and clock), and the typed calls of every
//! role. Each entry point returns a `tvb_error*`.

use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::{Instance, InstancePre, Linker, Resource};
use wasmtime::{Store, UpdateDeadline};

use crate::bindings::exports::torvyn::streaming as ex;
use crate::bindings::torvyn::streaming::types::{
    BackpressureSignal, ElementMeta, OutputElement, ProcessError, StreamElement,
};
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
// exported interface. To add a role: a row here and its tvb_call_* below.
macro_rules! roles {
    ($($role:ident => $variant:ident($module:ident)),* $(,)?) => {
        enum RoleIndices { $($variant(ex::$module::GuestIndices)),* }
        enum RoleGuest { $($variant(ex::$module::Guest)),* }
        impl RoleIndices {
            fn new(role: tvb_role, pre: &InstancePre<NodeData>) -> wasmtime::Result<Self> {
                Ok(match role {
                    $(tvb_role::$role => RoleIndices::$variant(ex::$module::GuestIndices::new(pre)?)),*
                })
            }
            fn load(&self, store: &mut Store<NodeData>, i: &Instance) -> wasmtime::Result<RoleGuest> {
                Ok(match self {
                    $(RoleIndices::$variant(x) => RoleGuest::$variant(x.load(&mut *store, i)?)),*
                })
            }
        }
    };
}

roles! {
    TVB_ROLE_SOURCE => Source(source),
    TVB_ROLE_PROCESSOR => Processor(processor),
    TVB_ROLE_SINK => Sink(sink),
    TVB_ROLE_FILTER => Filter(filter),
    TVB_ROLE_ROUTER => Router(router),
    TVB_ROLE_AGGREGATOR => Aggregator(aggregator),
}

/// A component linked for one node's role and grants; nothing runs yet.
/// Shareable across threads; instances made from it keep it alive.
pub struct tvb_prepared {
    pre: InstancePre<NodeData>,
    role: RoleIndices,
    lifecycle: Option<ex::lifecycle::GuestIndices>,
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
    lifecycle: Option<ex::lifecycle::Guest>,
    limits: tvb_guest_limits,
    fuel: Option<u64>, // per call, when the engine meters fuel
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
    /// Flow-context handle, lent as borrow<flow-context>.
    pub context: u32,
}

/// An element a guest handed back: the payload handle is now the host's.
#[repr(C)]
pub struct tvb_output {
    /// 0: none (an exhausted source, a dropped element ...).
    pub present: u8,
    pub sequence: u64,
    pub timestamp_ns: u64,
    pub payload: u32,
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
        let lifecycle = ex::lifecycle::GuestIndices::new(&pre).ok();
        unsafe {
            *out = Box::into_raw(Box::new(tvb_prepared {
                pre,
                role: indices,
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
        let lifecycle = match &p.lifecycle {
            Some(i) => Some(
                i.load(&mut store, &instance)
                    .map_err(|err| fail(TVB_MISSING_EXPORT, format!("{err:#}")))?,
            ),
            None => None,
        };
        unsafe {
            *out = Box::into_raw(Box::new(tvb_instance {
                store,
                guest,
                lifecycle,
                limits: p.limits,
                fuel,
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

fn output(o: Option<OutputElement>) -> tvb_output {
    match o {
        Some(o) => tvb_output {
            present: 1,
            sequence: o.meta.sequence,
            timestamp_ns: o.meta.timestamp_ns,
            payload: o.payload.rep(),
        },
        None => tvb_output {
            present: 0,
            sequence: 0,
            timestamp_ns: 0,
            payload: 0,
        },
    }
}

/// A process-error the guest returned, its text kept within the limits.
fn process_error(e: ProcessError, limits: &tvb_guest_limits) -> Failure {
    use tvb_process_error_kind::*;
    let (kind, message) = match e {
        ProcessError::InvalidInput(m) => (TVB_ERR_INVALID_INPUT, m),
        ProcessError::Unavailable(m) => (TVB_ERR_UNAVAILABLE, m),
        ProcessError::Internal(m) => (TVB_ERR_INTERNAL, m),
        ProcessError::DeadlineExceeded => (TVB_ERR_DEADLINE_EXCEEDED, String::new()),
        ProcessError::Fatal(m) => (TVB_ERR_FATAL, m),
    };
    guest_failure(kind, guest_text(&message, limits.text_bytes))
}

/// What a call returns: nothing (ok), or a failure.
type Call = Result<(), Failure>;

/// A guest's answer: its value to `take`, or its process-error for the host.
fn answer<T>(
    r: Result<T, ProcessError>,
    limits: &tvb_guest_limits,
    take: impl FnOnce(T) -> Call,
) -> Call {
    r.map_err(|e| process_error(e, limits)).and_then(take)
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

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_init(
    instance: *mut tvb_instance,
    config: *const c_char,
    len: usize,
) -> *mut tvb_error {
    with_instance(instance, |i| {
        let Some(l) = &i.lifecycle else {
            return Ok(Ok(()));
        };
        let bytes = if config.is_null() || len == 0 {
            &[][..]
        } else {
            unsafe { std::slice::from_raw_parts(config as *const u8, len) }
        };
        let text = String::from_utf8_lossy(bytes);
        let r = l.call_init(&mut i.store, &text)?;
        Ok(answer(r, &i.limits, Ok))
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_teardown(instance: *mut tvb_instance) -> *mut tvb_error {
    with_instance(instance, |i| {
        if let Some(l) = &i.lifecycle {
            l.call_teardown(&mut i.store)?;
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
    with_instance(instance, |i| {
        let RoleGuest::Source(g) = &i.guest else {
            return wrong_role();
        };
        let ctx = Resource::<FlowContextRep>::new_borrow(context);
        let r = g.call_pull(&mut i.store, ctx)?;
        Ok(answer(r, &i.limits, |o| {
            unsafe { *out = output(o) };
            Ok(())
        }))
    })
}

/// `pause` != 0: the source's downstream is pressured; 0: it has room again.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_notify(instance: *mut tvb_instance, pause: i32) -> *mut tvb_error {
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
    with_instance(instance, |i| {
        let RoleGuest::Processor(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        let r = g.call_process(&mut i.store, e)?;
        Ok(answer(r, &i.limits, |result| {
            let emitted = match result {
                ex::processor::ProcessResult::Emit(o) => Some(o),
                ex::processor::ProcessResult::Drop => None,
            };
            unsafe { *out = output(emitted) };
            Ok(())
        }))
    })
}

/// `*pause` = 1 when the sink asked to pause.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_push(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    pause: *mut i32,
) -> *mut tvb_error {
    with_instance(instance, |i| {
        let RoleGuest::Sink(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        let r = g.call_push(&mut i.store, e)?;
        Ok(answer(r, &i.limits, |signal| {
            unsafe { *pause = i32::from(signal == BackpressureSignal::Pause) };
            Ok(())
        }))
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_complete(instance: *mut tvb_instance) -> *mut tvb_error {
    with_instance(instance, |i| {
        let RoleGuest::Sink(g) = &i.guest else {
            return wrong_role();
        };
        let r = g.call_complete(&mut i.store)?;
        Ok(answer(r, &i.limits, Ok))
    })
}

/// `*accepted` = 1 when the filter keeps the element.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_accept(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    accepted: *mut i32,
) -> *mut tvb_error {
    with_instance(instance, |i| {
        let RoleGuest::Filter(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        let r = g.call_accept(&mut i.store, e)?;
        Ok(answer(r, &i.limits, |yes| {
            unsafe { *accepted = i32::from(yes) };
            Ok(())
        }))
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
    with_instance(instance, |i| {
        let RoleGuest::Router(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        let r = g.call_route(&mut i.store, e)?;
        Ok(answer(r, &i.limits, |ports| {
            check_names("route", &ports, &i.limits)?;
            for p in &ports {
                port(user, p.as_ptr(), p.len());
            }
            Ok(())
        }))
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
        let RoleGuest::Router(g) = &i.guest else {
            return wrong_role();
        };
        let ports = g.call_ports(&mut i.store)?;
        Ok(check_names("ports", &ports, &i.limits).map(|()| {
            for p in &ports {
                port(user, p.as_ptr(), p.len());
            }
        }))
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_ingest(
    instance: *mut tvb_instance,
    input: *const tvb_element,
    out: *mut tvb_output,
) -> *mut tvb_error {
    with_instance(instance, |i| {
        let RoleGuest::Aggregator(g) = &i.guest else {
            return wrong_role();
        };
        let e = element(unsafe { &*input });
        let r = g.call_ingest(&mut i.store, e)?;
        Ok(answer(r, &i.limits, |o| {
            unsafe { *out = output(o) };
            Ok(())
        }))
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
        let RoleGuest::Aggregator(g) = &i.guest else {
            return wrong_role();
        };
        let r = g.call_flush(&mut i.store)?;
        Ok(answer(r, &i.limits, |list| {
            if list.len() as u64 > i.limits.list_items {
                return Err(list_too_long("flush", list.len(), &i.limits));
            }
            for o in list {
                each(user, &output(Some(o)));
            }
            Ok(())
        }))
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
        let e = process_error(ProcessError::Fatal("x".repeat(100)), &limits());
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
