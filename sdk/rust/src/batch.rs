//! The batch form of a source (contract 0.2): the host asks for up to
//! `max` elements in one call; each comes from the component's `pull`, so a
//! source gets it by implementing its trait alone. Small payloads travel by
//! value in the batch's result (no host call per element).

use crate::bindings::torvyn::streaming::types;
use crate::detail::{not_initialised, Instance};
use crate::OutputPayload;

/// A batch's outputs: small payloads by value in one byte list, each
/// content type once.
#[derive(Default)]
pub struct BatchOutputs {
    bytes: Vec<u8>,
    types: Vec<String>,
}

impl BatchOutputs {
    pub fn lower(&mut self, o: crate::Output) -> types::BatchOutput {
        let (payload, content_type) = match o.payload {
            // Owned buffers carry their content type; the index is unused.
            OutputPayload::Owned(b) => (types::OutputPayload::Owned(b), 0),
            OutputPayload::Inline {
                bytes,
                content_type,
            } => {
                let range = types::ByteRange {
                    offset: self.bytes.len() as u32,
                    len: bytes.len() as u32,
                };
                self.bytes.extend_from_slice(&bytes);
                (
                    types::OutputPayload::Inline(range),
                    self.type_index(content_type),
                )
            }
        };
        types::BatchOutput {
            meta: o.meta,
            payload,
            content_type,
        }
    }

    fn type_index(&mut self, content_type: String) -> u32 {
        match self.types.iter().position(|t| *t == content_type) {
            Some(i) => i as u32,
            None => {
                self.types.push(content_type);
                (self.types.len() - 1) as u32
            }
        }
    }

    pub fn finish(self) -> (Vec<u8>, Vec<String>) {
        (self.bytes, self.types)
    }
}

/// A pull that failed after others of its batch succeeded: the batch goes
/// out, the error with the next call.
#[cfg(feature = "source")]
static DEFERRED_PULL_ERROR: Instance<types::ProcessError> = Instance::new();

#[cfg(feature = "source")]
pub fn pull_batch<T: crate::Source>(
    instance: &Instance<T>,
    max: u32,
) -> Result<
    crate::bindings::exports::torvyn::streaming::batch_source::PulledBatch,
    types::ProcessError,
> {
    use crate::bindings::exports::torvyn::streaming::batch_source::{NextPull, PulledBatch};
    if let Some(err) = DEFERRED_PULL_ERROR.0.borrow_mut().take() {
        return Err(err);
    }
    let mut outputs = BatchOutputs::default();
    let mut elements = Vec::new();
    let mut next = NextPull::More;
    while elements.len() < max as usize {
        match instance.with(|c| c.pull()) {
            None => return Err(not_initialised()),
            Some(Ok(crate::Pulled::Element(out))) => elements.push(outputs.lower(out)),
            Some(Ok(crate::Pulled::Pending(ns))) => {
                next = NextPull::Pending(ns);
                break;
            }
            Some(Ok(crate::Pulled::Exhausted)) => {
                next = NextPull::Exhausted;
                break;
            }
            Some(Err(err)) if elements.is_empty() => return Err(err.into()),
            Some(Err(err)) => {
                *DEFERRED_PULL_ERROR.0.borrow_mut() = Some(err.into());
                break;
            }
        }
    }
    let (bytes, content_types) = outputs.finish();
    Ok(PulledBatch {
        elements,
        bytes,
        content_types,
        next,
    })
}
