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
/// component reads, or (in a batch) bytes the host passed by value. Either
/// way it cannot outlive the call.
pub struct Element<'a> {
    meta: types::ElementMeta,
    payload: Payload<'a>,
}

enum Payload<'a> {
    Lent(&'a types::Buffer),
    Inline {
        bytes: &'a [u8],
        content_type: &'a str,
    },
}

impl Element<'_> {
    pub fn sequence(&self) -> u64 {
        self.meta.sequence
    }
    pub fn timestamp_ns(&self) -> u64 {
        self.meta.timestamp_ns
    }
    pub fn size(&self) -> u64 {
        match &self.payload {
            Payload::Lent(b) => b.size(),
            Payload::Inline { bytes, .. } => bytes.len() as u64,
        }
    }
    pub fn content_type(&self) -> String {
        match &self.payload {
            Payload::Lent(b) => b.content_type(),
            Payload::Inline { content_type, .. } => content_type.to_string(),
        }
    }
    /// The whole payload, copied into the component.
    pub fn read_all(&self) -> Vec<u8> {
        match &self.payload {
            Payload::Lent(b) => b.read_all(),
            Payload::Inline { bytes, .. } => bytes.to_vec(),
        }
    }
    /// `len` bytes from `offset` (fewer at the end).
    pub fn read(&self, offset: u64, len: u64) -> Vec<u8> {
        match &self.payload {
            Payload::Lent(b) => b.read(offset, len),
            Payload::Inline { bytes, .. } => {
                let at = (offset.min(bytes.len() as u64)) as usize;
                let n = (len.min((bytes.len() - at) as u64)) as usize;
                bytes[at..at + n].to_vec()
            }
        }
    }
}

/// An element this component made. Its bytes become a host buffer when it
/// is returned: in a batch, small ones travel by value with the batch's
/// result (no host call); a large one, or one returned alone, is made into
/// a buffer the host then owns.
pub struct Output {
    pub(crate) meta: types::ElementMeta,
    pub(crate) payload: OutputPayload,
}

// Sinks, filters and routers make no outputs: the type is there, unused.
#[cfg_attr(
    not(any(feature = "source", feature = "processor", feature = "aggregator")),
    allow(dead_code)
)]
pub(crate) enum OutputPayload {
    Owned(types::Buffer),
    Inline {
        bytes: Vec<u8>,
        content_type: String,
    },
}

impl Output {
    pub fn sequence(&self) -> u64 {
        self.meta.sequence
    }
}

/// Payloads larger than this go into a host buffer at once rather than by
/// value: one copy, not two (the same bound as the C++ SDK's).
#[cfg(any(feature = "source", feature = "processor", feature = "aggregator"))]
pub(crate) const BY_VALUE_BYTES: usize = 16 * 1024;

#[cfg(any(feature = "source", feature = "processor", feature = "aggregator"))]
fn make_buffer(bytes: &[u8], content_type: &str) -> Result<types::Buffer, Error> {
    crate::bindings::torvyn::streaming::buffer_allocator::make(bytes, content_type).map_err(|e| {
        Error::Unavailable(format!(
            "the host refused a buffer of {} bytes: {e:?}",
            bytes.len()
        ))
    })
}

#[cfg(any(feature = "source", feature = "processor", feature = "aggregator"))]
fn payload_of(bytes: &[u8], content_type: &str) -> Result<OutputPayload, Error> {
    if bytes.len() > BY_VALUE_BYTES {
        return make_buffer(bytes, content_type).map(OutputPayload::Owned);
    }
    Ok(OutputPayload::Inline {
        bytes: bytes.to_vec(),
        content_type: content_type.to_string(),
    })
}

/// A new element carrying `bytes`, with the sequence and timestamp of
/// `from` (what a processor emits for the element it was given).
#[cfg(feature = "processor")]
pub fn output(bytes: &[u8], content_type: &str, from: &Element<'_>) -> Result<Output, Error> {
    Ok(Output {
        meta: from.meta,
        payload: payload_of(bytes, content_type)?,
    })
}

/// A new element carrying `bytes` with sequence `sequence` (what a source
/// emits, or an aggregator derives).
#[cfg(any(feature = "source", feature = "aggregator"))]
pub fn new_output(bytes: &[u8], content_type: &str, sequence: u64) -> Result<Output, Error> {
    Ok(Output {
        meta: types::ElementMeta {
            sequence,
            timestamp_ns: 0,
        },
        payload: payload_of(bytes, content_type)?,
    })
}

impl<'a> Element<'a> {
    #[doc(hidden)]
    pub fn lent(inner: &'a types::StreamElement<'a>) -> Self {
        Element {
            meta: inner.meta,
            payload: Payload::Lent(inner.payload),
        }
    }

    /// Element `e` of a batch whose by-value payloads are ranges of `bytes`
    /// (the host checked the ranges; they are clamped anyway).
    #[doc(hidden)]
    pub fn of_batch(
        e: &'a types::BatchElement<'a>,
        bytes: &'a [u8],
        content_types: &'a [String],
    ) -> Self {
        let payload = match &e.payload {
            types::BatchPayload::Lent(b) => Payload::Lent(b),
            types::BatchPayload::Inline(r) => {
                let at = (r.offset as usize).min(bytes.len());
                let n = (r.len as usize).min(bytes.len() - at);
                Payload::Inline {
                    bytes: &bytes[at..at + n],
                    content_type: content_types
                        .get(e.content_type as usize)
                        .map_or("", String::as_str),
                }
            }
        };
        Element {
            meta: e.meta,
            payload,
        }
    }
}

impl Output {
    /// The element as the per-element exports return it: its bytes in a
    /// host buffer.
    #[doc(hidden)]
    pub fn into_inner(self) -> Result<types::OutputElement, Error> {
        let payload = match self.payload {
            OutputPayload::Owned(b) => b,
            #[cfg(any(feature = "source", feature = "processor", feature = "aggregator"))]
            OutputPayload::Inline {
                bytes,
                content_type,
            } => make_buffer(&bytes, &content_type)?,
            #[cfg(not(any(feature = "source", feature = "processor", feature = "aggregator")))]
            OutputPayload::Inline { .. } => unreachable!("a role without outputs"),
        };
        Ok(types::OutputElement {
            meta: self.meta,
            payload,
        })
    }
}
