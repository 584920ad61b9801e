//! Linking a component for a role and its grants, and instances (one store
//! each, with the node's limits and clock): which role and batch exports,
//! at which contract version, a component has. The calls themselves are in
//! calls.rs (one element) and batch.rs (batches). Each entry point returns
//! a `tvb_error*`.

use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::{Instance, InstancePre, Linker};
use wasmtime::{Store, UpdateDeadline};

use crate::batch::BatchScratch;
use crate::bindings::exports::torvyn::streaming0_1_0 as v1;
use crate::bindings::exports::torvyn::streaming0_2_0 as v2;
use crate::engine::{tvb_component, tvb_engine};
use crate::error::{call_failure, fail, guard, tvb_error, tvb_status::*};
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
        pub(crate) enum RoleGuest { $($old(v1::$module::Guest), $new(v2::$module::Guest)),* }
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
    Source(v2::batch_source::GuestIndices),
    Processor(v2::batch_processor::GuestIndices),
    Sink(v2::batch_sink::GuestIndices),
    Filter(v2::batch_filter::GuestIndices),
}
pub(crate) enum BatchGuest {
    Source(v2::batch_source::Guest),
    Processor(v2::batch_processor::Guest),
    Sink(v2::batch_sink::Guest),
    Filter(v2::batch_filter::Guest),
}
impl BatchIndices {
    fn find(role: &RoleIndices, pre: &InstancePre<NodeData>) -> Option<Self> {
        match role {
            RoleIndices::Source2(_) => v2::batch_source::GuestIndices::new(pre)
                .ok()
                .map(BatchIndices::Source),
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
            BatchIndices::Source(x) => BatchGuest::Source(x.load(store, i)?),
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
pub(crate) enum Lifecycle {
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
    pub(crate) store: Store<NodeData>,
    pub(crate) guest: RoleGuest,
    pub(crate) batch: Option<BatchGuest>,
    pub(crate) lifecycle: Option<Lifecycle>,
    pub(crate) limits: tvb_guest_limits,
    pub(crate) fuel: Option<u64>, // per call, when the engine meters fuel
    pub(crate) scratch: BatchScratch,
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
            .and_then(|()| crate::denied::add_stubs(&mut linker, &c.component, &grants))
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
pub(crate) fn arm_clock(store: &mut Store<NodeData>) {
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
