//! Elements, outputs and errors as a Rust component sees them.

use crate::bindings::torvyn::streaming::types;

/// Why a call failed; what the host's error policy (`on-error`) acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// This element is bad; others may be fine.
    InvalidInput(String),
    /// Something this component needs is briefly unavailable (retryable).
    Unavailable(String),
    /// A bug or an unexpected state.
    Internal(String),
    /// The element's deadline passed.
    DeadlineExceeded,
    /// The component cannot go on; the host stops the node.
    Fatal(String),
}

impl From<Error> for types::ProcessError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidInput(m) => types::ProcessError::InvalidInput(m),
            Error::Unavailable(m) => types::ProcessError::Unavailable(m),
            Error::Internal(m) => types::ProcessError::Internal(m),
            Error::DeadlineExceeded => types::ProcessError::DeadlineExceeded,
            Error::Fatal(m) => types::ProcessError::Fatal(m),
        }
    }
}

/// An element lent to the current call: its payload is a host buffer the
/// component reads (a copy into the component, counted by the host). It
/// cannot outlive the call.
pub struct Element<'a> {
    pub(crate) inner: &'a types::StreamElement<'a>,
}

impl Element<'_> {
    pub fn sequence(&self) -> u64 {
        self.inner.meta.sequence
    }
    pub fn timestamp_ns(&self) -> u64 {
        self.inner.meta.timestamp_ns
    }
    pub fn size(&self) -> u64 {
        self.inner.payload.size()
    }
    pub fn content_type(&self) -> String {
        self.inner.payload.content_type()
    }
    /// The whole payload, copied into the component.
    pub fn read_all(&self) -> Vec<u8> {
        self.inner.payload.read_all()
    }
    /// `len` bytes from `offset` (fewer at the end).
    pub fn read(&self, offset: u64, len: u64) -> Vec<u8> {
        self.inner.payload.read(offset, len)
    }
}

/// An element this component made; ownership of its buffer passes to the
/// host when it is returned.
pub struct Output {
    pub(crate) inner: types::OutputElement,
}

impl Output {
    pub fn sequence(&self) -> u64 {
        self.inner.meta.sequence
    }
}

#[cfg(any(feature = "source", feature = "processor", feature = "aggregator"))]
fn make_buffer(bytes: &[u8], content_type: &str) -> Result<types::Buffer, Error> {
    crate::bindings::torvyn::streaming::buffer_allocator::make(bytes, content_type)
        .map_err(|e| Error::Internal(format!("the host refused a buffer: {e:?}")))
}

/// A new element carrying `bytes`, with the sequence and timestamp of
/// `from` (what a processor emits for the element it was given).
#[cfg(feature = "processor")]
pub fn output(bytes: &[u8], content_type: &str, from: &Element<'_>) -> Result<Output, Error> {
    Ok(Output {
        inner: types::OutputElement {
            meta: from.inner.meta,
            payload: make_buffer(bytes, content_type)?,
        },
    })
}

/// A new element carrying `bytes` with sequence `sequence` (what a source
/// emits, or an aggregator derives).
#[cfg(any(feature = "source", feature = "aggregator"))]
pub fn new_output(bytes: &[u8], content_type: &str, sequence: u64) -> Result<Output, Error> {
    Ok(Output {
        inner: types::OutputElement {
            meta: types::ElementMeta {
                sequence,
                timestamp_ns: 0,
            },
            payload: make_buffer(bytes, content_type)?,
        },
    })
}

impl<'a> Element<'a> {
    #[doc(hidden)]
    pub fn lent(inner: &'a types::StreamElement<'a>) -> Self {
        Element { inner }
    }
}

impl Output {
    #[doc(hidden)]
    pub fn into_inner(self) -> types::OutputElement {
        self.inner
    }
}
