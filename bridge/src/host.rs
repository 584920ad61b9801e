//! Host side of `torvyn:streaming/types` and `buffer-allocator`, for every
//! contract version the bridge speaks: each WIT function is a short thunk
//! into the C++ callback table. The versions share the thunks and the
//! resource types (a buffer is a buffer), and differ only where the contract
//! did: 0.1.0 lends a `flow-context` resource, 0.2.0 has `current-context`.

use std::ffi::c_void;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceType, WasmList, WasmStr};

use crate::bindings::torvyn::streaming0_1_0::types::BufferError;
use crate::bindings::torvyn::streaming0_2_0::types::{Attribute, DeadLetterReason, FlowContext};
use crate::error::HostRefused;
use crate::node::{NodeData, tvb_buffer_error_kind, tvb_context_field};

/// Marker types for the host-defined resources. Their reps are the C++
/// host's own handles, so no table is kept on this side.
pub enum BufferRep {}
pub enum MutableBufferRep {}
pub enum FlowContextRep {}

/// The contract versions linked, oldest first (wit/bridge.wit).
const VERSIONS: [&str; 2] = ["0.1.0", "0.2.0"];

/// A non-zero callback status: the host refused the guest's request, and
/// the guest traps. The host keeps its own record of why.
fn check(status: i32, what: &'static str) -> wasmtime::Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(wasmtime::Error::from(HostRefused(what)))
    }
}

fn buffer_error(kind: tvb_buffer_error_kind, value: u64) -> BufferError {
    match kind {
        tvb_buffer_error_kind::TVB_BUF_CAPACITY_EXCEEDED => BufferError::CapacityExceeded(value),
        tvb_buffer_error_kind::TVB_BUF_OUT_OF_BOUNDS => BufferError::OutOfBounds,
        tvb_buffer_error_kind::TVB_BUF_INVALID_STATE => BufferError::InvalidState,
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
    let (mut kind, mut value) = (tvb_buffer_error_kind::TVB_BUF_INVALID_STATE, 0u64);
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

fn context_string(
    store: &Ctx<'_>,
    handle: u32,
    field: tvb_context_field,
) -> wasmtime::Result<(&'static str,)> {
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
    what: &'static str,
) -> wasmtime::Result<(u64,)> {
    let d = store.data();
    let mut out = 0u64;
    check(unsafe { f(d.node, handle, &mut out) }, what)?;
    Ok((out,))
}

fn context_field(store: &Ctx<'_>, field: tvb_context_field) -> wasmtime::Result<String> {
    let handle = store.data().context;
    Ok(context_string(store, handle, field)?.0.to_string())
}

/// Registers every function of the torvyn host interfaces, at every
/// contract version, in `linker`.
pub fn add_torvyn_to_linker(linker: &mut Linker<NodeData>) -> wasmtime::Result<()> {
    for version in VERSIONS {
        add_version(linker, version)?;
    }
    Ok(())
}

fn add_version(linker: &mut Linker<NodeData>, version: &str) -> wasmtime::Result<()> {
    let mut types = linker.instance(&format!("torvyn:streaming/types@{version}"))?;

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

    if version == "0.1.0" {
        add_lent_context(&mut types)?;
    } else {
        types.func_wrap("current-context", |store: Ctx<'_>, (): ()| {
            use tvb_context_field::*;
            let d = store.data();
            let (mut present, mut ns) = (0u8, 0u64);
            check(
                unsafe {
                    (d.callbacks.context_remaining_deadline)(
                        d.node,
                        d.context,
                        &mut present,
                        &mut ns,
                    )
                },
                "current-context",
            )?;
            Ok((FlowContext {
                flow_id: context_field(&store, TVB_CTX_FLOW_ID)?,
                trace_id: context_field(&store, TVB_CTX_TRACE_ID)?,
                span_id: context_field(&store, TVB_CTX_SPAN_ID)?,
                remaining_deadline_ns: if present != 0 { Some(ns) } else { None },
            },))
        })?;
        types.func_wrap("element-attributes", |store: Ctx<'_>, (index,): (u32,)| {
            let d = store.data();
            let mut out = Vec::new();
            for i in 0u32.. {
                let (mut key, mut key_len) = (std::ptr::null(), 0usize);
                let (mut value, mut value_len) = (std::ptr::null(), 0usize);
                let status = unsafe {
                    (d.callbacks.element_attribute)(
                        d.node,
                        index,
                        i,
                        &mut key,
                        &mut key_len,
                        &mut value,
                        &mut value_len,
                    )
                };
                if status == 1 {
                    break; // past the last one
                }
                check(status, "element-attributes")?;
                out.push(Attribute {
                    key: unsafe { host_str(key, key_len) }?.to_owned(),
                    value: unsafe { host_bytes(value, value_len) }.to_vec(),
                });
            }
            Ok((out,))
        })?;
        types.func_wrap("why-dead-lettered", |store: Ctx<'_>, (): ()| {
            use tvb_context_field::*;
            let d = store.data();
            let (mut present, mut attempts) = (0u8, 0u32);
            check(
                unsafe {
                    (d.callbacks.dead_letter_attempts)(
                        d.node,
                        d.context,
                        &mut present,
                        &mut attempts,
                    )
                },
                "why-dead-lettered",
            )?;
            if present == 0 {
                return Ok((None,));
            }
            Ok((Some(DeadLetterReason {
                code: context_field(&store, TVB_CTX_REASON_CODE)?,
                kind: context_field(&store, TVB_CTX_REASON_KIND)?,
                message: context_field(&store, TVB_CTX_REASON_MESSAGE)?,
                node: context_field(&store, TVB_CTX_REASON_NODE)?,
                attempts,
            }),))
        })?;
    }

    let mut alloc = linker.instance(&format!("torvyn:streaming/buffer-allocator@{version}"))?;
    alloc.func_wrap("allocate", |store: Ctx<'_>, (hint,): (u64,)| {
        let d = store.data();
        let (mut handle, mut kind, mut value) =
            (0u32, tvb_buffer_error_kind::TVB_BUF_INVALID_STATE, 0u64);
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
            let (mut handle, mut kind, mut value) =
                (0u32, tvb_buffer_error_kind::TVB_BUF_INVALID_STATE, 0u64);
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

/// 0.1.0's flow context: a resource lent with every call.
fn add_lent_context(
    types: &mut wasmtime::component::LinkerInstance<'_, NodeData>,
) -> wasmtime::Result<()> {
    // Contexts are only ever lent, so a guest can never drop one it owns.
    types.resource(
        "flow-context",
        ResourceType::host::<FlowContextRep>(),
        |_, _| Ok(()),
    )?;
    types.func_wrap(
        "[method]flow-context.flow-id",
        |store: Ctx<'_>, (c,): (Resource<FlowContextRep>,)| {
            context_string(&store, c.rep(), tvb_context_field::TVB_CTX_FLOW_ID)
        },
    )?;
    types.func_wrap(
        "[method]flow-context.trace-id",
        |store: Ctx<'_>, (c,): (Resource<FlowContextRep>,)| {
            context_string(&store, c.rep(), tvb_context_field::TVB_CTX_TRACE_ID)
        },
    )?;
    types.func_wrap(
        "[method]flow-context.span-id",
        |store: Ctx<'_>, (c,): (Resource<FlowContextRep>,)| {
            context_string(&store, c.rep(), tvb_context_field::TVB_CTX_SPAN_ID)
        },
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

    Ok(())
}
