//! `wasi:io` (poll and streams) for nodes with a WASI grant, with every call
//! that can wait bounded by the node's call deadline and by the host's stop
//! requests.
//!
//! Why: epoch interruption stops a guest only while it runs wasm. A guest
//! waiting inside the host (a clock subscription, a socket read or connect,
//! a full pipe) would otherwise hold its flow's thread for as long as it
//! likes. Every wait in WASI preview 2 goes through the functions below
//! (`poll`, `pollable.block` and the `blocking-*` stream methods), so
//! bounding these bounds them all. The rest delegates to wasmtime-wasi-io.

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sync::io::{poll, streams};
use wasmtime_wasi_io::bindings::wasi::io::poll as async_poll;
use wasmtime_wasi_io::bindings::wasi::io::streams::{
    Host as AsyncStreams, HostInputStream as AsyncInput, HostOutputStream as AsyncOutput,
};
use wasmtime_wasi_io::poll::DynPollable;
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream, StreamError, StreamResult};

use crate::node::{CallClock, NodeData};

/// The WASI table of one node, with the clock of the call in progress.
pub struct BoundedIo<'a> {
    table: &'a mut ResourceTable,
    clock: CallClock,
}

struct HasBoundedIo;

impl HasData for HasBoundedIo {
    type Data<'a> = BoundedIo<'a>;
}

fn view(d: &mut NodeData) -> BoundedIo<'_> {
    let clock = d.clock.clone();
    let state = d
        .wasi
        .as_mut()
        .expect("WASI interface linked without a WASI context");
    BoundedIo {
        table: &mut state.table,
        clock,
    }
}

pub fn add_poll(linker: &mut Linker<NodeData>) -> wasmtime::Result<()> {
    poll::add_to_linker::<NodeData, HasBoundedIo>(linker, view)
}

pub fn add_streams(linker: &mut Linker<NodeData>) -> wasmtime::Result<()> {
    streams::add_to_linker::<NodeData, HasBoundedIo>(linker, view)
}

/// A stream operation that waited too long becomes a trap carrying why.
fn flatten<T>(r: wasmtime::Result<StreamResult<T>>) -> StreamResult<T> {
    r.unwrap_or_else(|e| Err(StreamError::Trap(e)))
}

impl poll::Host for BoundedIo<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        let clock = self.clock.clone();
        clock.block_on(async_poll::Host::poll(self.table, pollables))?
    }
}

impl poll::HostPollable for BoundedIo<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        // Never waits: it polls the readiness future once.
        wasmtime_wasi::runtime::in_tokio(async_poll::HostPollable::ready(self.table, pollable))
    }
    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        let clock = self.clock.clone();
        clock.block_on(async_poll::HostPollable::block(self.table, pollable))?
    }
    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        async_poll::HostPollable::drop(self.table, pollable)
    }
}

impl streams::Host for BoundedIo<'_> {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        Ok(AsyncStreams::convert_stream_error(self.table, err)?.into())
    }
}

impl streams::HostInputStream for BoundedIo<'_> {
    fn drop(&mut self, stream: Resource<DynInputStream>) -> wasmtime::Result<()> {
        let clock = self.clock.clone();
        clock.block_on(AsyncInput::drop(self.table, stream))?
    }
    fn read(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<Vec<u8>> {
        AsyncInput::read(self.table, stream, len)
    }
    fn blocking_read(
        &mut self,
        stream: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<Vec<u8>> {
        let clock = self.clock.clone();
        flatten(clock.block_on(AsyncInput::blocking_read(self.table, stream, len)))
    }
    fn skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        AsyncInput::skip(self.table, stream, len)
    }
    fn blocking_skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        let clock = self.clock.clone();
        flatten(clock.block_on(AsyncInput::blocking_skip(self.table, stream, len)))
    }
    fn subscribe(
        &mut self,
        stream: Resource<DynInputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        AsyncInput::subscribe(self.table, stream)
    }
}

impl streams::HostOutputStream for BoundedIo<'_> {
    fn drop(&mut self, stream: Resource<DynOutputStream>) -> wasmtime::Result<()> {
        let clock = self.clock.clone();
        clock.block_on(AsyncOutput::drop(self.table, stream))?
    }
    fn check_write(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<u64> {
        AsyncOutput::check_write(self.table, stream)
    }
    fn write(&mut self, stream: Resource<DynOutputStream>, bytes: Vec<u8>) -> StreamResult<()> {
        AsyncOutput::write(self.table, stream, bytes)
    }
    fn blocking_write_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        let clock = self.clock.clone();
        flatten(clock.block_on(AsyncOutput::blocking_write_and_flush(
            self.table, stream, bytes,
        )))
    }
    fn blocking_write_zeroes_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        let clock = self.clock.clone();
        flatten(clock.block_on(AsyncOutput::blocking_write_zeroes_and_flush(
            self.table, stream, len,
        )))
    }
    fn subscribe(
        &mut self,
        stream: Resource<DynOutputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        AsyncOutput::subscribe(self.table, stream)
    }
    fn write_zeroes(&mut self, stream: Resource<DynOutputStream>, len: u64) -> StreamResult<()> {
        AsyncOutput::write_zeroes(self.table, stream, len)
    }
    fn flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        AsyncOutput::flush(self.table, stream)
    }
    fn blocking_flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        let clock = self.clock.clone();
        flatten(clock.block_on(AsyncOutput::blocking_flush(self.table, stream)))
    }
    fn splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        AsyncOutput::splice(self.table, dst, src, len)
    }
    fn blocking_splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        let clock = self.clock.clone();
        flatten(clock.block_on(AsyncOutput::blocking_splice(self.table, dst, src, len)))
    }
}
