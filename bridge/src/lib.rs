//! Thin bridge between the Torvyn C++ host and Wasmtime.
//!
//! Why it exists: Wasmtime's generic C API converts every argument through
//! dynamic values and cannot link a subset of WASI. This crate instead uses
//! typed `bindgen!` bindings for the Torvyn worlds and exposes a narrow C ABI
//! (see `include/torvyn_bridge.h`). It holds no runtime policy: every host
//! function forwards to a C++ callback, and every decision (handles, budgets,
//! copies, errors) is taken in C++.
//!
//! Safety model of the ABI: C++ passes valid pointers it created through this
//! API; each `tvb_instance` is used by one thread at a time. Nothing unwinds
//! across the ABI: entry points catch panics and report `TVB_INTERNAL`.

#![allow(non_camel_case_types)]

mod abi;
mod bounded_io;
mod guest_output;
mod host;
mod wasi;

pub use abi::*;

/// Typed bindings for every Torvyn role interface. The host resources map
/// to marker types whose reps are the C++ host's handles.
mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "torvyn:bridge/host-view",
        with: {
            "torvyn:streaming/types.buffer": crate::host::BufferRep,
            "torvyn:streaming/types.mutable-buffer": crate::host::MutableBufferRep,
            "torvyn:streaming/types.flow-context": crate::host::FlowContextRep,
        },
    });
}
