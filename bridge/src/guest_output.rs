//! A granted guest's stdout and stderr: every write goes to the C++ host
//! (`guest_output`), which decides how it reaches the operator (escaped on a
//! terminal, prefixed with the node's name on stderr). The guest never
//! writes to the host's file descriptors itself.

use std::ffi::c_void;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi_io::streams::{OutputStream, StreamError, StreamResult};

use crate::node::{tvb_host_callbacks, tvb_stream};

/// One of the node's output streams.
#[derive(Clone, Copy)]
pub struct GuestOutput {
    node: usize, // *mut c_void, as an integer so the stream is Send + Sync
    stream: tvb_stream,
    callbacks: tvb_host_callbacks,
    permit: usize,
}

impl GuestOutput {
    pub fn new(
        node: *mut c_void,
        stream: tvb_stream,
        callbacks: tvb_host_callbacks,
        permit: u64,
    ) -> Self {
        GuestOutput {
            node: node as usize,
            stream,
            callbacks,
            permit: usize::try_from(permit).unwrap_or(usize::MAX),
        }
    }

    fn send(&self, bytes: &[u8]) -> io::Result<()> {
        // Called on the thread running the guest, while the node is alive.
        let status = unsafe {
            (self.callbacks.guest_output)(
                self.node as *mut c_void,
                self.stream,
                bytes.as_ptr(),
                bytes.len(),
            )
        };
        if status == 0 {
            Ok(())
        } else {
            Err(io::Error::other("the host refused the write"))
        }
    }
}

// Function pointers and an integer: nothing here is tied to a thread.
unsafe impl Send for GuestOutput {}
unsafe impl Sync for GuestOutput {}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        // The host decides how output is shown; the guest never gets a tty.
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(*self)
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(*self)
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if bytes.len() > self.permit {
            return Err(StreamError::trap(
                "write is larger than check-write permitted",
            ));
        }
        self.send(&bytes)
            .map_err(|e| StreamError::LastOperationFailed(e.into()))
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(self.permit)
    }
}

#[async_trait::async_trait]
impl wasmtime_wasi_io::poll::Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.permit);
        Poll::Ready(self.send(&buf[..n]).map(|()| n))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
