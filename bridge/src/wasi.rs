//! WASI capabilities, linked one interface at a time.
//!
//! A node gets a WASI context only when it holds a grant, and its linker gets
//! only the interfaces its grants cover. A component importing anything else
//! fails to link, which the C++ host reports as a missing capability.

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::p2::bindings::sync as p2;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::abi::tvb_grants;
use crate::host::NodeData;

pub struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for NodeData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        // Only nodes with a grant have WASI interfaces linked, and exactly
        // those nodes get a WasiState (see `new_state`).
        let state = self
            .wasi
            .as_mut()
            .expect("WASI interface linked without a WASI context");
        WasiCtxView {
            ctx: &mut state.ctx,
            table: &mut state.table,
        }
    }
}

struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

pub fn any_granted(g: &tvb_grants) -> bool {
    g.stdout_ != 0 || g.stderr_ != 0
}

/// Adds the WASI interfaces `grants` allow.
pub fn add_granted_to_linker(
    linker: &mut Linker<NodeData>,
    grants: &tvb_grants,
) -> wasmtime::Result<()> {
    if !any_granted(grants) {
        return Ok(());
    }
    // Output streams need the stream and error resources.
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<NodeData, HasTable>(
        linker,
        |t| t.ctx().table,
    )?;
    p2::io::streams::add_to_linker::<NodeData, HasTable>(linker, |t| t.ctx().table)?;
    if grants.stdout_ != 0 {
        wasmtime_wasi::p2::bindings::cli::stdout::add_to_linker::<NodeData, wasmtime_wasi::cli::WasiCli>(
            linker,
            <NodeData as wasmtime_wasi::cli::WasiCliView>::cli,
        )?;
    }
    if grants.stderr_ != 0 {
        wasmtime_wasi::p2::bindings::cli::stderr::add_to_linker::<NodeData, wasmtime_wasi::cli::WasiCli>(
            linker,
            <NodeData as wasmtime_wasi::cli::WasiCliView>::cli,
        )?;
    }
    Ok(())
}

/// The WASI context of a node with `grants`, or none when it has no grant.
pub fn new_state(grants: &tvb_grants) -> Option<Box<WasiState>> {
    if !any_granted(grants) {
        return None;
    }
    let mut builder = WasiCtxBuilder::new();
    if grants.stdout_ != 0 {
        builder.inherit_stdout();
    }
    if grants.stderr_ != 0 {
        builder.inherit_stderr();
    }
    Some(Box::new(WasiState {
        ctx: builder.build(),
        table: ResourceTable::new(),
    }))
}
