//! The typed calls of every role, one element at a time, at both contract
//! versions; and the shape every guest call shares (clock, fuel, failure
//! classification). Each entry point returns a `tvb_error*`.

use std::ffi::{c_char, c_void};

use wasmtime::Store;
use wasmtime::component::Resource;

use crate::bindings::exports::torvyn::streaming0_1_0 as v1;
use crate::bindings::exports::torvyn::streaming0_2_0 as v2;
use crate::bindings::torvyn::streaming0_1_0::types as t1;
use crate::bindings::torvyn::streaming0_2_0::types as t2;
use crate::error::{
    Failure, call_failure, fail, guard, guest_failure, guest_text, tvb_error,
    tvb_process_error_kind, tvb_status::*,
};
use crate::host::{BufferRep, FlowContextRep};
use crate::instance::{Lifecycle, RoleGuest, arm_clock, tvb_instance};
use crate::node::{NodeData, tvb_guest_limits};

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
pub(crate) use error_parts;

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
pub(crate) type Call = Result<(), Failure>;

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
pub(crate) fn with_instance(
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

pub(crate) fn wrong_role() -> wasmtime::Result<Call> {
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
