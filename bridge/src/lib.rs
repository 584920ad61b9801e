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
//! Failures are owned `tvb_error` values (error.rs).
//!
//! The C header (`torvyn_bridge.h`) is generated from these sources by
//! cbindgen when the host is built; the types and functions here are the
//! only definition of the ABI.
//!
//! Modules, each depending only on those above it:
//!   node        what a store carries: callbacks, limits, clock, WASI state
//!   error       owned errors and how a failure is classified
//!   host        torvyn:streaming's host functions: thunks into C++
//!   bounded_io  wasi:io with every wait bounded by the call's deadline
//!   guest_output  a granted guest's stdout/stderr, handed to C++
//!   wasi        the grantable WASI interfaces, one row each
//!   denied      ungranted WASI imports linked to stubs that refuse
//!   inspect     a component's imports, exports, language, pool use (bytes)
//!   engine      the engine, compiled components, WIT checks
//!   instance    linking for a role (which version, which batch form), instances
//!   calls       the typed calls of every role, one element at a time
//!   batch       the batch calls (contract 0.2.0)

#![allow(non_camel_case_types)]

mod batch;
mod bounded_io;
mod calls;
mod denied;
mod engine;
mod error;
mod guest_output;
mod host;
mod inspect;
mod instance;
mod node;
mod wasi;

pub use batch::*;
pub use calls::*;
pub use engine::*;
pub use error::*;
pub use inspect::*;
pub use instance::*;
pub use node::*;
pub use wasi::*;

/// Typed bindings for every Torvyn role interface of both contract versions
/// (modules `streaming0_1_0` and `streaming0_2_0`). The host resources of
/// both map to the same marker types, whose reps are the C++ host's handles.
mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "torvyn:bridge/host-view",
        with: {
            "torvyn:streaming/types@0.2.0.buffer": crate::host::BufferRep,
            "torvyn:streaming/types@0.2.0.mutable-buffer": crate::host::MutableBufferRep,
            "torvyn:streaming/types@0.1.0.buffer": crate::host::BufferRep,
            "torvyn:streaming/types@0.1.0.mutable-buffer": crate::host::MutableBufferRep,
            "torvyn:streaming/types@0.1.0.flow-context": crate::host::FlowContextRep,
        },
    });
}
