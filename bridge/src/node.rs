//! What one store carries: the C++ node it belongs to and the callbacks that
//! reach it, the limits the host set, the clock of the call in progress and,
//! only for a node with a WASI grant, its WASI context. Every other module
//! depends on this one; it depends on none of them.

use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Trap};
use wasmtime_wasi::WasiCtx;

/// Why a buffer operation was refused (`torvyn:streaming/types.buffer-error`).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_buffer_error_kind {
    TVB_BUF_CAPACITY_EXCEEDED = 0,
    TVB_BUF_OUT_OF_BOUNDS = 1,
    TVB_BUF_INVALID_STATE = 2,
}

/// Which string field of a `flow-context` a guest asks for.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_context_field {
    TVB_CTX_FLOW_ID = 0,
    TVB_CTX_TRACE_ID = 1,
    TVB_CTX_SPAN_ID = 2,
    /// The dead-letter reason of the element being pushed (0.2.0).
    TVB_CTX_REASON_CODE = 3,
    TVB_CTX_REASON_KIND = 4,
    TVB_CTX_REASON_MESSAGE = 5,
    TVB_CTX_REASON_NODE = 6,
}

/// Which of a guest's output streams (`guest_output`).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_stream {
    TVB_STREAM_STDOUT = 1,
    TVB_STREAM_STDERR = 2,
}

/// The host side of `torvyn:streaming/types` and `buffer-allocator`, and the
/// host's answers to the bridge. `node` is the pointer given to
/// `tvb_instance_new`. A callback returns 0 on success; 1 reports a
/// buffer-error to the guest through `err` (where the WIT function has one);
/// any other value means the host refused the guest's request: the guest
/// traps, and the host keeps its own record of why.
///
/// Pointers a callback returns (bytes, strings) must stay valid until the
/// guest's call returns to the host; the bridge copies from them once,
/// straight into guest memory.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tvb_host_callbacks {
    pub buffer_size: unsafe extern "C" fn(node: *mut c_void, buffer: u32, size: *mut u64) -> i32,
    pub buffer_content_type: unsafe extern "C" fn(
        node: *mut c_void,
        buffer: u32,
        data: *mut *const u8,
        len: *mut usize,
    ) -> i32,
    /// Bytes [offset, offset+len) clamped to the payload. The host counts the
    /// copy the bridge is about to make into the guest.
    pub buffer_read: unsafe extern "C" fn(
        node: *mut c_void,
        buffer: u32,
        offset: u64,
        len: u64,
        data: *mut *const u8,
        out_len: *mut usize,
    ) -> i32,
    /// The guest dropped an owned buffer handle.
    pub buffer_drop: unsafe extern "C" fn(node: *mut c_void, buffer: u32) -> i32,
    pub mutable_allocate: unsafe extern "C" fn(
        node: *mut c_void,
        capacity_hint: u64,
        mutable_buffer: *mut u32,
        err: *mut tvb_buffer_error_kind,
        err_value: *mut u64,
    ) -> i32,
    /// `offset` == u64::MAX appends. `data` points into guest memory, valid
    /// only during this callback.
    pub mutable_write: unsafe extern "C" fn(
        node: *mut c_void,
        mutable_buffer: u32,
        offset: u64,
        data: *const u8,
        len: usize,
        err: *mut tvb_buffer_error_kind,
        err_value: *mut u64,
    ) -> i32,
    pub mutable_size:
        unsafe extern "C" fn(node: *mut c_void, mutable_buffer: u32, size: *mut u64) -> i32,
    pub mutable_capacity:
        unsafe extern "C" fn(node: *mut c_void, mutable_buffer: u32, capacity: *mut u64) -> i32,
    pub mutable_set_content_type: unsafe extern "C" fn(
        node: *mut c_void,
        mutable_buffer: u32,
        data: *const u8,
        len: usize,
    ) -> i32,
    /// Consumes the mutable buffer; `buffer` is a new immutable one.
    pub mutable_freeze:
        unsafe extern "C" fn(node: *mut c_void, mutable_buffer: u32, buffer: *mut u32) -> i32,
    pub mutable_drop: unsafe extern "C" fn(node: *mut c_void, mutable_buffer: u32) -> i32,
    pub context_string: unsafe extern "C" fn(
        node: *mut c_void,
        context: u32,
        field: tvb_context_field,
        data: *mut *const u8,
        len: *mut usize,
    ) -> i32,
    /// `present` = 0 unless the element being pushed was dead-lettered; then
    /// the TVB_CTX_REASON_* fields say why.
    pub dead_letter_attempts: unsafe extern "C" fn(
        node: *mut c_void,
        context: u32,
        present: *mut u8,
        attempts: *mut u32,
    ) -> i32,
    /// Attribute `i` of element `index` of the call in progress: 0 with
    /// `key`/`value` pointing at host memory valid until the host call
    /// returns, 1 when there is no attribute `i` (nor element `index`).
    pub element_attribute: unsafe extern "C" fn(
        node: *mut c_void,
        index: u32,
        i: u32,
        key: *mut *const u8,
        key_len: *mut usize,
        value: *mut *const u8,
        value_len: *mut usize,
    ) -> i32,
    /// `present` = 0 when the element has no deadline.
    pub context_remaining_deadline: unsafe extern "C" fn(
        node: *mut c_void,
        context: u32,
        present: *mut u8,
        remaining_ns: *mut u64,
    ) -> i32,
    /// allocate + write + set content type + freeze in one call; `buffer` is
    /// a new immutable buffer owned by the guest.
    pub buffer_make: unsafe extern "C" fn(
        node: *mut c_void,
        data: *const u8,
        len: usize,
        content_type: *const u8,
        content_type_len: usize,
        buffer: *mut u32,
        err: *mut tvb_buffer_error_kind,
        err_value: *mut u64,
    ) -> i32,
    /// Non-zero when the call in progress must end now (a forced stop). Asked
    /// every few milliseconds while a guest runs or waits in a blocking WASI
    /// call; never on the per-element path.
    pub should_stop: unsafe extern "C" fn(node: *mut c_void) -> i32,
    /// Bytes a guest granted stdout or stderr wrote; at most
    /// `tvb_guest_limits.stream_write_bytes` per call.
    pub guest_output: unsafe extern "C" fn(
        node: *mut c_void,
        stream: tvb_stream,
        data: *const u8,
        len: usize,
    ) -> i32,
}

/// What a guest may make the host hold or do; the values and their reasons
/// are the host's (torvyn/core/limits.hpp). Applied to every store.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tvb_guest_limits {
    /// Bytes a guest may pass to the host in one call (Wasmtime's hostcall
    /// fuel): arguments of host calls and results of guest calls.
    pub call_transfer_bytes: u64,
    /// Component-model handles one instance may hold.
    pub component_handles: u64,
    /// WASI resources (streams, pollables, sockets ...) one instance may hold.
    pub wasi_resources: u64,
    /// Guest text (returned errors, trap messages) is cut to this many bytes,
    /// with the original length noted, before the host sees it.
    pub text_bytes: u64,
    /// Items of a list a guest returns: router ports, aggregator outputs.
    pub list_items: u64,
    /// One router port name.
    pub name_bytes: u64,
    /// stdout/stderr bytes per write (the check-write permit).
    pub stream_write_bytes: u64,
    /// Milliseconds between stop checks while a guest runs or waits.
    pub stop_check_ms: u64,
}

/// A node's WASI context, present only when it holds a grant.
pub struct WasiState {
    pub ctx: WasiCtx,
    pub table: ResourceTable,
}

/// The host's view of the call in progress: when it started (in epoch
/// ticks), how long it may take, and how to ask whether to stop now. Cheap
/// to copy, so blocking WASI calls can hold one while they borrow the table.
#[derive(Clone)]
pub struct CallClock {
    pub epoch: Arc<AtomicU64>,
    pub call_epoch: u64,
    pub deadline_ticks: u64, // 0: none
    pub node: *mut c_void,
    pub should_stop: unsafe extern "C" fn(*mut c_void) -> i32,
    pub check_ticks: u64,
}

// Only dereferenced by C++ on the thread calling into the store.
unsafe impl Send for CallClock {}
unsafe impl Sync for CallClock {}

/// A call ended by the host rather than by the guest (a forced stop).
#[derive(Debug)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the call was stopped: the run was stopped at once (forced stop)")
    }
}

impl std::error::Error for Stopped {}

impl CallClock {
    pub fn elapsed_ticks(&self) -> u64 {
        self.epoch
            .load(Ordering::Relaxed)
            .saturating_sub(self.call_epoch)
    }

    /// Ticks left before the deadline; u64::MAX without one.
    pub fn ticks_left(&self) -> u64 {
        if self.deadline_ticks == 0 {
            u64::MAX
        } else {
            self.deadline_ticks.saturating_sub(self.elapsed_ticks())
        }
    }

    pub fn stop_requested(&self) -> bool {
        unsafe { (self.should_stop)(self.node) != 0 }
    }

    /// Runs a WASI future to completion unless the call's deadline passes or
    /// the host asks to stop first: the one place where a guest can wait.
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> wasmtime::Result<F::Output> {
        wasmtime_wasi::runtime::in_tokio(async move {
            let mut fut = std::pin::pin!(fut);
            loop {
                let left = self.ticks_left();
                if left == 0 {
                    return Err(wasmtime::Error::from(Trap::Interrupt));
                }
                // One tick is one millisecond (see tvb_engine_increment_epoch).
                let slice = std::time::Duration::from_millis(left.min(self.check_ticks).max(1));
                if let Ok(out) = tokio::time::timeout(slice, fut.as_mut()).await {
                    return Ok(out);
                }
                if self.stop_requested() {
                    return Err(wasmtime::Error::from(Stopped));
                }
            }
        })
    }
}

/// A growth the node's limits refuse: the guest traps with this error, so
/// the refusal is known by its type, not by a message.
#[derive(Debug)]
pub struct LimitRefused {
    pub what: &'static str,
    pub desired: usize,
    pub limit: usize,
}

impl std::fmt::Display for LimitRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} would grow to {}, over its limit of {}",
            self.what, self.desired, self.limit
        )
    }
}

impl std::error::Error for LimitRefused {}

/// The node's memory and table limits (`max-memory`, `max-table-elements`).
pub struct Limiter {
    pub memory_bytes: usize,
    pub table_elements: usize, // usize::MAX: none
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(wasmtime::Error::from(LimitRefused {
                what: "linear memory (bytes)",
                desired,
                limit: self.memory_bytes,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            return Err(wasmtime::Error::from(LimitRefused {
                what: "a table (elements)",
                desired,
                limit: self.table_elements,
            }));
        }
        Ok(true)
    }
}

/// Per-store data.
pub struct NodeData {
    pub node: *mut c_void,
    pub callbacks: tvb_host_callbacks,
    pub limiter: Limiter,
    pub clock: CallClock,
    pub wasi: Option<Box<WasiState>>,
    /// The flow-context handle of the call in progress: what a 0.2.0
    /// component's `current-context` reads (0.1.0 ones are lent it).
    pub context: u32,
}

// The C++ node pointer is only dereferenced by C++ on the thread that is
// calling into this store.
unsafe impl Send for NodeData {}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn never(_: *mut c_void) -> i32 {
        0
    }

    fn clock(deadline: u64, epoch_now: u64, started: u64) -> CallClock {
        CallClock {
            epoch: Arc::new(AtomicU64::new(epoch_now)),
            call_epoch: started,
            deadline_ticks: deadline,
            node: std::ptr::null_mut(),
            should_stop: never,
            check_ticks: 10,
        }
    }

    #[test]
    fn the_deadline_counts_from_the_start_of_the_call() {
        assert_eq!(clock(100, 130, 100).ticks_left(), 70);
        assert_eq!(clock(100, 300, 100).ticks_left(), 0);
        assert_eq!(clock(0, 300, 100).ticks_left(), u64::MAX);
    }

    #[test]
    fn a_wait_past_the_deadline_is_an_interrupt() {
        let c = clock(5, 0, 0);
        let ticker = {
            let epoch = c.epoch.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    epoch.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let never_ready = std::future::pending::<()>();
        let err = c.block_on(never_ready).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::Interrupt));
        ticker.join().unwrap();
    }

    #[test]
    fn the_limiter_refuses_by_type() {
        let mut l = Limiter {
            memory_bytes: 1 << 16,
            table_elements: 10,
        };
        assert!(l.memory_growing(0, 1 << 16, None).unwrap());
        let err = l.memory_growing(0, (1 << 16) + 1, None).unwrap_err();
        assert!(err.downcast_ref::<LimitRefused>().is_some());
        assert!(l.table_growing(0, 11, None).is_err());
    }
}
