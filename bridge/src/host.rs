//! Host side of `torvyn:streaming/types` and `buffer-allocator`: each WIT
//! function is a short thunk into the C++ callback table.

use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::{Linker, Resource, ResourceType, WasmList, WasmStr};
use wasmtime::{StoreContextMut, StoreLimits};

use crate::bindings::torvyn::streaming::types::BufferError;

/// Marker types for the host-defined resources. Their reps are the C++
/// host's own handles, so no table is kept on this side.
pub enum BufferRep {}
pub enum MutableBufferRep {}
pub enum FlowContextRep {}

pub const TYPES_INTERFACE: &str = "torvyn:streaming/types@0.1.0";
pub const ALLOCATOR_INTERFACE: &str = "torvyn:streaming/buffer-allocator@0.1.0";

/// Mirrors `tvb_host_callbacks` in the C header, field for field.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HostCallbacks {
    pub buffer_size: unsafe extern "C" fn(*mut c_void, u32, *mut u64) -> i32,
    pub buffer_content_type:
        unsafe extern "C" fn(*mut c_void, u32, *mut *const u8, *mut usize) -> i32,
    pub buffer_read:
        unsafe extern "C" fn(*mut c_void, u32, u64, u64, *mut *const u8, *mut usize) -> i32,
    pub buffer_drop: unsafe extern "C" fn(*mut c_void, u32) -> i32,
    pub mutable_allocate:
        unsafe extern "C" fn(*mut c_void, u64, *mut u32, *mut i32, *mut u64) -> i32,
    pub mutable_write:
        unsafe extern "C" fn(*mut c_void, u32, u64, *const u8, usize, *mut i32, *mut u64) -> i32,
    pub mutable_size: unsafe extern "C" fn(*mut c_void, u32, *mut u64) -> i32,
    pub mutable_capacity: unsafe extern "C" fn(*mut c_void, u32, *mut u64) -> i32,
    pub mutable_set_content_type: unsafe extern "C" fn(*mut c_void, u32, *const u8, usize) -> i32,
    pub mutable_freeze: unsafe extern "C" fn(*mut c_void, u32, *mut u32) -> i32,
    pub mutable_drop: unsafe extern "C" fn(*mut c_void, u32) -> i32,
    pub context_string:
        unsafe extern "C" fn(*mut c_void, u32, i32, *mut *const u8, *mut usize) -> i32,
    pub context_remaining_deadline:
        unsafe extern "C" fn(*mut c_void, u32, *mut u8, *mut u64) -> i32,
    pub buffer_make: unsafe extern "C" fn(
        *mut c_void,
        *const u8,
        usize,
        *const u8,
        usize,
        *mut u32,
        *mut i32,
        *mut u64,
    ) -> i32,
    pub should_stop: unsafe extern "C" fn(*mut c_void) -> i32,
    pub guest_output: unsafe extern "C" fn(*mut c_void, i32, *const u8, usize) -> i32,
}

/// Mirrors `tvb_guest_limits` in the C header.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GuestLimits {
    pub call_transfer_bytes: u64,
    pub component_handles: u64,
    pub wasi_resources: u64,
    pub text_bytes: u64,
    pub list_items: u64,
    pub name_bytes: u64,
    pub stream_write_bytes: u64,
    pub stop_check_ms: u64,
}

/// The host's view of the call in progress: when it started (in epoch
/// ticks), how long it may take, and how to ask whether to stop now.
/// Cheap to copy, so blocking WASI calls can hold one while they borrow the
/// WASI table.
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

/// Why a call was ended by the host rather than by the guest.
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
                    return Err(wasmtime::Error::from(wasmtime::Trap::Interrupt));
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

/// Per-store data: the C++ node the store belongs to, its limits, the clock
/// of the call in progress and, only when the node was granted a WASI
/// capability, a WASI context.
pub struct NodeData {
    pub node: *mut c_void,
    pub callbacks: HostCallbacks,
    pub limits: StoreLimits,
    pub clock: CallClock,
    pub wasi: Option<Box<crate::wasi::WasiState>>,
}

// The C++ node pointer is only dereferenced by C++ on the thread that is
// calling into this store.
unsafe impl Send for NodeData {}

thread_local! {
    static TRAP_MESSAGE: RefCell<String> = const { RefCell::new(String::new()) };
}

pub fn set_trap_message(message: String) {
    TRAP_MESSAGE.with(|m| *m.borrow_mut() = message);
}

/// Turns a non-zero callback status into a trap carrying the host's reason.
fn check(status: i32, what: &str) -> wasmtime::Result<()> {
    if status == 0 {
        return Ok(());
    }
    let reason = TRAP_MESSAGE.with(|m| std::mem::take(&mut *m.borrow_mut()));
    if reason.is_empty() {
        Err(wasmtime::format_err!("host refused {what}"))
    } else {
        Err(wasmtime::Error::msg(reason))
    }
}

fn buffer_error(kind: i32, value: u64) -> BufferError {
    match kind {
        0 => BufferError::CapacityExceeded(value),
        1 => BufferError::OutOfBounds,
        _ => BufferError::InvalidState,
    }
}

/// Builds a slice over host memory the C++ side promised to keep alive and
/// unchanged until this host call returns; Wasmtime copies it into the guest
/// before then. This is the one copy of a read.
unsafe fn host_bytes(data: *const u8, len: usize) -> &'static [u8] {
    if len == 0 || data.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(data, len) }
    }
}

unsafe fn host_str(data: *const u8, len: usize) -> wasmtime::Result<&'static str> {
    std::str::from_utf8(unsafe { host_bytes(data, len) })
        .map_err(|_| wasmtime::format_err!("host string is not UTF-8"))
}

type Ctx<'a> = StoreContextMut<'a, NodeData>;

fn read_buffer(
    store: &Ctx<'_>,
    handle: u32,
    offset: u64,
    len: u64,
) -> wasmtime::Result<(&'static [u8],)> {
    let d = store.data();
    let mut data = std::ptr::null();
    let mut n = 0usize;
    check(
        unsafe { (d.callbacks.buffer_read)(d.node, handle, offset, len, &mut data, &mut n) },
        "buffer.read",
    )?;
    Ok((unsafe { host_bytes(data, n) },))
}

fn write_mutable(
    store: &Ctx<'_>,
    handle: u32,
    offset: u64,
    bytes: &WasmList<u8>,
) -> wasmtime::Result<(Result<(), BufferError>,)> {
    let d = store.data();
    // Reads straight out of guest memory: the C++ side copies once into the
    // host buffer.
    let slice = bytes.as_le_slice(store);
    let (mut kind, mut value) = (0i32, 0u64);
    let status = unsafe {
        (d.callbacks.mutable_write)(
            d.node,
            handle,
            offset,
            slice.as_ptr(),
            slice.len(),
            &mut kind,
            &mut value,
        )
    };
    if status == 1 {
        return Ok((Err(buffer_error(kind, value)),));
    }
    check(status, "mutable-buffer.write")?;
    Ok((Ok(()),))
}

fn context_string(store: &Ctx<'_>, handle: u32, field: i32) -> wasmtime::Result<(&'static str,)> {
    let d = store.data();
    let mut data = std::ptr::null();
    let mut n = 0usize;
    check(
        unsafe { (d.callbacks.context_string)(d.node, handle, field, &mut data, &mut n) },
        "flow-context field",
    )?;
    Ok((unsafe { host_str(data, n)? },))
}

fn u64_getter(
    store: &Ctx<'_>,
    f: unsafe extern "C" fn(*mut c_void, u32, *mut u64) -> i32,
    handle: u32,
    what: &str,
) -> wasmtime::Result<(u64,)> {
    let d = store.data();
    let mut out = 0u64;
    check(unsafe { f(d.node, handle, &mut out) }, what)?;
    Ok((out,))
}

/// Registers every function of the torvyn host interfaces in `linker`.
pub fn add_torvyn_to_linker(linker: &mut Linker<NodeData>) -> wasmtime::Result<()> {
    let mut types = linker.instance(TYPES_INTERFACE)?;

    types.resource("buffer", ResourceType::host::<BufferRep>(), |store, rep| {
        let d = store.data();
        check(
            unsafe { (d.callbacks.buffer_drop)(d.node, rep) },
            "buffer drop",
        )
    })?;
    types.resource(
        "mutable-buffer",
        ResourceType::host::<MutableBufferRep>(),
        |store, rep| {
            let d = store.data();
            check(
                unsafe { (d.callbacks.mutable_drop)(d.node, rep) },
                "mutable-buffer drop",
            )
        },
    )?;
    // Contexts are only ever lent, so a guest can never drop one it owns.
    types.resource(
        "flow-context",
        ResourceType::host::<FlowContextRep>(),
        |_, _| Ok(()),
    )?;

    types.func_wrap(
        "[method]buffer.size",
        |store: Ctx<'_>, (b,): (Resource<BufferRep>,)| {
            let cb = store.data().callbacks.buffer_size;
            u64_getter(&store, cb, b.rep(), "buffer.size")
        },
    )?;
    types.func_wrap(
        "[method]buffer.content-type",
        |store: Ctx<'_>, (b,): (Resource<BufferRep>,)| {
            let d = store.data();
            let mut data = std::ptr::null();
            let mut n = 0usize;
            check(
                unsafe { (d.callbacks.buffer_content_type)(d.node, b.rep(), &mut data, &mut n) },
                "buffer.content-type",
            )?;
            Ok((unsafe { host_str(data, n)? },))
        },
    )?;
    types.func_wrap(
        "[method]buffer.read",
        |store: Ctx<'_>, (b, offset, len): (Resource<BufferRep>, u64, u64)| {
            read_buffer(&store, b.rep(), offset, len)
        },
    )?;
    types.func_wrap(
        "[method]buffer.read-all",
        |store: Ctx<'_>, (b,): (Resource<BufferRep>,)| read_buffer(&store, b.rep(), 0, u64::MAX),
    )?;

    types.func_wrap(
        "[method]mutable-buffer.write",
        |store: Ctx<'_>, (m, offset, bytes): (Resource<MutableBufferRep>, u64, WasmList<u8>)| {
            if offset == u64::MAX {
                // u64::MAX is the C ABI's "append" marker; no real write can start there.
                return Ok((Err(BufferError::OutOfBounds),));
            }
            write_mutable(&store, m.rep(), offset, &bytes)
        },
    )?;
    types.func_wrap(
        "[method]mutable-buffer.append",
        |store: Ctx<'_>, (m, bytes): (Resource<MutableBufferRep>, WasmList<u8>)| {
            write_mutable(&store, m.rep(), u64::MAX, &bytes)
        },
    )?;
    types.func_wrap(
        "[method]mutable-buffer.size",
        |store: Ctx<'_>, (m,): (Resource<MutableBufferRep>,)| {
            let cb = store.data().callbacks.mutable_size;
            u64_getter(&store, cb, m.rep(), "mutable-buffer.size")
        },
    )?;
    types.func_wrap(
        "[method]mutable-buffer.capacity",
        |store: Ctx<'_>, (m,): (Resource<MutableBufferRep>,)| {
            let cb = store.data().callbacks.mutable_capacity;
            u64_getter(&store, cb, m.rep(), "mutable-buffer.capacity")
        },
    )?;
    types.func_wrap(
        "[method]mutable-buffer.set-content-type",
        |store: Ctx<'_>, (m, text): (Resource<MutableBufferRep>, WasmStr)| {
            let d = store.data();
            let s = text.to_str(&store)?;
            check(
                unsafe {
                    (d.callbacks.mutable_set_content_type)(d.node, m.rep(), s.as_ptr(), s.len())
                },
                "mutable-buffer.set-content-type",
            )?;
            Ok(())
        },
    )?;
    types.func_wrap(
        "[static]mutable-buffer.freeze",
        |store: Ctx<'_>, (m,): (Resource<MutableBufferRep>,)| {
            let d = store.data();
            let mut frozen = 0u32;
            check(
                unsafe { (d.callbacks.mutable_freeze)(d.node, m.rep(), &mut frozen) },
                "mutable-buffer.freeze",
            )?;
            Ok((Resource::<BufferRep>::new_own(frozen),))
        },
    )?;

    types.func_wrap(
        "[method]flow-context.flow-id",
        |store: Ctx<'_>, (c,): (Resource<FlowContextRep>,)| context_string(&store, c.rep(), 0),
    )?;
    types.func_wrap(
        "[method]flow-context.trace-id",
        |store: Ctx<'_>, (c,): (Resource<FlowContextRep>,)| context_string(&store, c.rep(), 1),
    )?;
    types.func_wrap(
        "[method]flow-context.span-id",
        |store: Ctx<'_>, (c,): (Resource<FlowContextRep>,)| context_string(&store, c.rep(), 2),
    )?;
    types.func_wrap(
        "[method]flow-context.remaining-deadline-ns",
        |store: Ctx<'_>, (c,): (Resource<FlowContextRep>,)| {
            let d = store.data();
            let (mut present, mut ns) = (0u8, 0u64);
            check(
                unsafe {
                    (d.callbacks.context_remaining_deadline)(d.node, c.rep(), &mut present, &mut ns)
                },
                "flow-context.remaining-deadline-ns",
            )?;
            Ok((if present != 0 { Some(ns) } else { None },))
        },
    )?;

    let mut alloc = linker.instance(ALLOCATOR_INTERFACE)?;
    alloc.func_wrap("allocate", |store: Ctx<'_>, (hint,): (u64,)| {
        let d = store.data();
        let (mut handle, mut kind, mut value) = (0u32, 0i32, 0u64);
        let status = unsafe {
            (d.callbacks.mutable_allocate)(d.node, hint, &mut handle, &mut kind, &mut value)
        };
        if status == 1 {
            return Ok((Err(buffer_error(kind, value)),));
        }
        check(status, "buffer-allocator.allocate")?;
        Ok((Ok(Resource::<MutableBufferRep>::new_own(handle)),))
    })?;
    alloc.func_wrap(
        "make",
        |store: Ctx<'_>, (bytes, content_type): (WasmList<u8>, WasmStr)| {
            let d = store.data();
            // Both read straight out of guest memory: one copy, into the host buffer.
            let slice = bytes.as_le_slice(&store);
            let text = content_type.to_str(&store)?;
            let (mut handle, mut kind, mut value) = (0u32, 0i32, 0u64);
            let status = unsafe {
                (d.callbacks.buffer_make)(
                    d.node,
                    slice.as_ptr(),
                    slice.len(),
                    text.as_ptr(),
                    text.len(),
                    &mut handle,
                    &mut kind,
                    &mut value,
                )
            };
            if status == 1 {
                return Ok((Err(buffer_error(kind, value)),));
            }
            check(status, "buffer-allocator.make")?;
            Ok((Ok(Resource::<BufferRep>::new_own(handle)),))
        },
    )?;
    Ok(())
}
