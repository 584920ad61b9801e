//! Errors as owned values: every fallible entry point returns a `tvb_error*`
//! (null on success) that says what kind of failure it is and what to tell
//! the operator; the caller frees it. No thread-local "last error", and the
//! kind is known from types wherever Wasmtime exposes one.

use std::panic::{AssertUnwindSafe, catch_unwind};

use wasmtime::Trap;
use wasmtime::component::ResourceTableError;

use crate::node::{LimitRefused, Stopped, tvb_guest_limits};

/// What kind of failure a `tvb_error` is.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_status {
    /// The guest returned a process-error; see `tvb_error_guest_kind`.
    TVB_GUEST_ERROR = 1,
    /// The guest trapped. The instance must not be called again.
    TVB_TRAP = 2,
    /// The call's deadline passed (computing or waiting). Instance is dead.
    TVB_DEADLINE = 3,
    /// A limit of the node was exceeded (memory, tables, fuel). Instance is dead.
    TVB_LIMIT = 4,
    /// The component could not be compiled or deserialized.
    TVB_COMPILE_ERROR = 5,
    /// The component's imports could not be satisfied.
    TVB_LINK_ERROR = 6,
    /// The component does not export the requested interface.
    TVB_MISSING_EXPORT = 7,
    /// Bad argument from the host (programmer error), or a grant that cannot
    /// be resolved.
    TVB_INVALID_ARGUMENT = 8,
    /// Anything else (I/O, internal Wasmtime error, a panic).
    TVB_INTERNAL = 9,
    /// The host asked the call to end now (`should_stop`). Instance is dead.
    TVB_STOPPED = 10,
    /// One of the host's fixed limits (`tvb_guest_limits`) was exceeded.
    /// Instance is dead.
    TVB_HOST_LIMIT = 11,
    /// A host callback refused the guest's request (a handle it does not
    /// hold, a limit); the host keeps its own record of why. Instance is dead.
    TVB_REFUSED = 12,
    /// The engine's instance pool is full (the host's resource, not the
    /// guest's fault); the message names the pool and its size.
    TVB_POOL_EXHAUSTED = 13,
    /// The guest called a WASI function its node is not granted, linked to
    /// a denying stub; the message names the function. Instance is dead.
    TVB_DENIED = 14,
}

/// Cases of `torvyn:streaming/types.process-error`.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_process_error_kind {
    TVB_ERR_INVALID_INPUT = 0,
    TVB_ERR_UNAVAILABLE = 1,
    TVB_ERR_INTERNAL = 2,
    TVB_ERR_DEADLINE_EXCEEDED = 3,
    TVB_ERR_FATAL = 4,
}

/// A failure, owned by whoever received it; free it with `tvb_error_free`.
pub struct tvb_error {
    status: tvb_status,
    guest_kind: tvb_process_error_kind,
    message: String,
}

pub type Failure = Box<tvb_error>;

pub fn fail(status: tvb_status, message: impl Into<String>) -> Failure {
    Box::new(tvb_error {
        status,
        guest_kind: tvb_process_error_kind::TVB_ERR_INTERNAL,
        message: message.into(),
    })
}

pub fn guest_failure(kind: tvb_process_error_kind, message: String) -> Failure {
    Box::new(tvb_error {
        status: tvb_status::TVB_GUEST_ERROR,
        guest_kind: kind,
        message,
    })
}

/// A host callback refused a guest's request; the guest traps with this.
#[derive(Debug)]
pub struct HostRefused(pub &'static str);

impl std::fmt::Display for HostRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the host refused {}", self.0)
    }
}

impl std::error::Error for HostRefused {}

/// Runs `f`, turning a panic into `TVB_INTERNAL` so nothing unwinds into
/// C++, and hands the error (if any) to the caller.
pub fn guard(f: impl FnOnce() -> Result<(), Failure>) -> *mut tvb_error {
    let result = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(fail(
                tvb_status::TVB_INTERNAL,
                format!("bridge panic: {what}"),
            ))
        }
    };
    match result {
        Ok(()) => std::ptr::null_mut(),
        Err(e) => Box::into_raw(e),
    }
}

/// Guest text as the host may keep it: at most `max` bytes (cut on a
/// character boundary) and, when cut, the original length noted.
pub fn guest_text(text: &str, max: u64) -> String {
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

/// Classifies a failed guest call (or instantiation). After any of these the
/// instance is dead.
pub fn call_failure(err: wasmtime::Error, limits: &tvb_guest_limits) -> Failure {
    use tvb_status::*;
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return fail(TVB_TRAP, format!("the component called exit({})", exit.0));
    }
    if err.downcast_ref::<Stopped>().is_some() {
        return fail(TVB_STOPPED, Stopped.to_string());
    }
    if let Some(pool) = err.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return fail(TVB_POOL_EXHAUSTED, pool.to_string());
    }
    if let Some(denied) = err.downcast_ref::<crate::denied::DeniedCall>() {
        return fail(TVB_DENIED, denied.to_string());
    }
    if let Some(refused) = err.downcast_ref::<HostRefused>() {
        return fail(TVB_REFUSED, refused.to_string());
    }
    if let Some(limit) = err.downcast_ref::<LimitRefused>() {
        return fail(TVB_LIMIT, limit.to_string());
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
    // The root cause says what happened ("wasm trap: ..."); of the
    // backtrace, the top frame helps. Its name comes from the component.
    let mut text = err.root_cause().to_string();
    if let Some(name) = err
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .and_then(|bt| bt.frames().first())
        .and_then(|frame| frame.func_name())
    {
        text.push_str(&format!(" (in {name})"));
    }
    let status = match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => TVB_DEADLINE,
        Some(Trap::OutOfFuel) => {
            text = "fuel budget exhausted".to_string();
            TVB_LIMIT
        }
        // Wasmtime 48 reports these two as text only (no public type).
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
        _ => TVB_TRAP,
    };
    fail(status, guest_text(&text, limits.text_bytes))
}

// --- the C ABI of errors -----------------------------------------------------

/// What kind of failure `error` is.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_error_status(error: *const tvb_error) -> tvb_status {
    unsafe { error.as_ref() }.map_or(tvb_status::TVB_INTERNAL, |e| e.status)
}

/// The guest's process-error case, when the status is TVB_GUEST_ERROR.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_error_guest_kind(error: *const tvb_error) -> tvb_process_error_kind {
    unsafe { error.as_ref() }.map_or(tvb_process_error_kind::TVB_ERR_INTERNAL, |e| e.guest_kind)
}

/// The error's text (UTF-8, not NUL-terminated), valid until it is freed.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_error_message(
    error: *const tvb_error,
    data: *mut *const u8,
    len: *mut usize,
) {
    if let (Some(e), false, false) = (unsafe { error.as_ref() }, data.is_null(), len.is_null()) {
        unsafe {
            *data = e.message.as_ptr();
            *len = e.message.len();
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_error_free(error: *mut tvb_error) {
    if !error.is_null() {
        drop(unsafe { Box::from_raw(error) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> tvb_guest_limits {
        tvb_guest_limits {
            call_transfer_bytes: 16 << 20,
            component_handles: 100,
            wasi_resources: 256,
            text_bytes: 8,
            list_items: 4,
            name_bytes: 4,
            stream_write_bytes: 4096,
            stop_check_ms: 10,
        }
    }

    #[test]
    fn guest_text_is_cut_on_a_character_boundary_with_its_length() {
        assert_eq!(guest_text("short", 8), "short");
        assert_eq!(guest_text("ééééé", 5), "éé... (cut; 10 bytes in all)");
    }

    #[test]
    fn failures_are_classified_by_their_type() {
        let l = limits();
        let kind = |e: wasmtime::Error| call_failure(e, &l).status;
        assert_eq!(
            kind(wasmtime::Error::from(Trap::Interrupt)),
            tvb_status::TVB_DEADLINE
        );
        assert_eq!(
            kind(wasmtime::Error::from(Trap::OutOfFuel)),
            tvb_status::TVB_LIMIT
        );
        assert_eq!(
            kind(wasmtime::Error::from(Stopped)),
            tvb_status::TVB_STOPPED
        );
        assert_eq!(
            kind(wasmtime::Error::from(HostRefused("buffer.read"))),
            tvb_status::TVB_REFUSED
        );
        let limit = LimitRefused {
            what: "memory",
            desired: 2,
            limit: 1,
        };
        assert_eq!(kind(wasmtime::Error::from(limit)), tvb_status::TVB_LIMIT);
        assert_eq!(
            kind(wasmtime::Error::from(ResourceTableError::Full)),
            tvb_status::TVB_HOST_LIMIT
        );
        assert_eq!(
            kind(wasmtime::Error::from(Trap::UnreachableCodeReached)),
            tvb_status::TVB_TRAP
        );
    }

    #[test]
    fn guard_turns_a_panic_into_an_internal_error() {
        let e = guard(|| panic!("boom"));
        assert_eq!(tvb_error_status(e), tvb_status::TVB_INTERNAL);
        let (mut data, mut len) = (std::ptr::null(), 0usize);
        tvb_error_message(e, &mut data, &mut len);
        let text = unsafe { std::str::from_utf8(std::slice::from_raw_parts(data, len)) }.unwrap();
        assert!(text.contains("boom"), "{text}");
        tvb_error_free(e);
        assert!(guard(|| Ok(())).is_null());
    }
}
