//! The batch forms of contract 0.2.0 (`process-batch`, `push-batch`,
//! `accept-batch`): a batch the C++ host lent, lowered into one typed call,
//! and one result per element back.

use wasmtime::Store;
use wasmtime::component::Resource;

use crate::bindings::exports::torvyn::streaming0_2_0 as v2;
use crate::bindings::torvyn::streaming0_2_0::types as t2;
use crate::calls::{Call, error_parts, with_instance, wrong_role};
use crate::error::{
    fail, guest_failure, guest_text, tvb_error, tvb_process_error_kind, tvb_status::*,
};
use crate::host::BufferRep;
use crate::instance::{BatchGuest, tvb_instance};
use crate::node::{NodeData, tvb_guest_limits};

/// Bytes (or UTF-8 text) the other side keeps alive for as long as stated.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tvb_bytes {
    pub data: *const u8,
    pub len: usize,
}

/// One element of a batch lent to a guest (0.2.0 batch forms).
#[repr(C)]
pub struct tvb_batch_element {
    pub sequence: u64,
    pub timestamp_ns: u64,
    /// 1: the payload travels by value, bytes `offset .. offset + len` of
    /// the batch's bytes; 0: buffer `payload` is lent.
    pub by_value: u8,
    pub payload: u32,
    pub offset: u32,
    pub len: u32,
    /// Index into the batch's content types.
    pub content_type: u32,
}

/// A batch lent to a guest: the C++ host keeps everything alive for the call.
#[repr(C)]
pub struct tvb_batch {
    pub elements: *const tvb_batch_element,
    pub count: usize,
    pub bytes: tvb_bytes,
    pub content_types: *const tvb_bytes,
    pub content_type_count: usize,
    /// The flow-context handle `current-context` reads during the call.
    pub context: u32,
}

/// What a guest did with one element of a batch.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_batch_outcome {
    /// Processor: emitted `output`; sink: delivered; filter: kept.
    TVB_BATCH_DONE = 0,
    /// Processor: dropped; filter: discarded.
    TVB_BATCH_DISCARDED = 1,
    /// Failed with `error_kind` and `message`.
    TVB_BATCH_FAILED = 2,
}

/// One element's result of a batch call. Byte ranges and content-type
/// indices are as the guest returned them (the C++ host checks them); the
/// texts point into the instance and stay valid until its next call.
#[repr(C)]
pub struct tvb_batch_result {
    pub outcome: tvb_batch_outcome,
    pub sequence: u64,
    pub timestamp_ns: u64,
    /// 1: the output's payload is bytes `offset .. offset + len` of the
    /// result's bytes; 0: `payload` is a buffer handle, now the host's.
    pub by_value: u8,
    pub payload: u32,
    pub offset: u32,
    pub len: u32,
    pub content_type: u32,
    pub error_kind: tvb_process_error_kind,
    pub message: tvb_bytes,
}

/// What a processor's batch call returned besides its per-element results;
/// valid until the instance's next call.
#[repr(C)]
pub struct tvb_batch_output {
    pub bytes: tvb_bytes,
    pub content_types: *const tvb_bytes,
    pub content_type_count: usize,
}

/// What a batch call keeps between calls, so a batch allocates nothing once
/// warm: the elements and content types it lends, and what the guest
/// returned that the C++ host reads after the call.
#[derive(Default)]
pub(crate) struct BatchScratch {
    types_in: Vec<String>,
    bytes_out: Vec<u8>,
    types_out: Vec<String>,
    type_views: Vec<tvb_bytes>,
    messages: Vec<String>,
}

/// The batch C++ lent, as the guest's typed call takes it: the elements
/// (lent payloads as borrows), the bytes of those carried by value, the
/// content types (kept in `scratch` between calls).
unsafe fn lend_batch<'a>(
    store: &mut Store<NodeData>,
    batch: &'a tvb_batch,
    types: &mut Vec<String>,
) -> (Vec<t2::BatchElement>, &'a [u8]) {
    store.data_mut().context = batch.context;
    let raw = unsafe { slice(batch.elements, batch.count) };
    let elements = raw
        .iter()
        .map(|e| t2::BatchElement {
            meta: t2::ElementMeta {
                sequence: e.sequence,
                timestamp_ns: e.timestamp_ns,
            },
            payload: if e.by_value != 0 {
                t2::BatchPayload::Inline(t2::ByteRange {
                    offset: e.offset,
                    len: e.len,
                })
            } else {
                t2::BatchPayload::Lent(Resource::<BufferRep>::new_borrow(e.payload))
            },
            content_type: e.content_type,
        })
        .collect();
    let names = unsafe { slice(batch.content_types, batch.content_type_count) };
    types.truncate(names.len());
    for (k, n) in names.iter().enumerate() {
        let text = String::from_utf8_lossy(unsafe { slice(n.data, n.len) });
        match types.get_mut(k) {
            Some(t) if *t == text => {}
            Some(t) => *t = text.into_owned(),
            None => types.push(text.into_owned()),
        }
    }
    (elements, unsafe {
        slice(batch.bytes.data, batch.bytes.len)
    })
}

unsafe fn slice<'a, T>(data: *const T, len: usize) -> &'a [T] {
    if len == 0 || data.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(data, len) }
    }
}

fn view(bytes: &[u8]) -> tvb_bytes {
    tvb_bytes {
        data: bytes.as_ptr(),
        len: bytes.len(),
    }
}

/// One result per element, or the guest broke the batch contract.
fn check_count(what: &str, got: usize, want: usize) -> Call {
    if got == want {
        Ok(())
    } else {
        Err(guest_failure(
            tvb_process_error_kind::TVB_ERR_INTERNAL,
            format!("{what} returned {got} results for a batch of {want} elements"),
        ))
    }
}

const EMPTY_RESULT: tvb_batch_result = tvb_batch_result {
    outcome: tvb_batch_outcome::TVB_BATCH_DONE,
    sequence: 0,
    timestamp_ns: 0,
    by_value: 0,
    payload: 0,
    offset: 0,
    len: 0,
    content_type: 0,
    error_kind: tvb_process_error_kind::TVB_ERR_INTERNAL,
    message: tvb_bytes {
        data: std::ptr::null(),
        len: 0,
    },
};

const DISCARDED: tvb_batch_result = tvb_batch_result {
    outcome: tvb_batch_outcome::TVB_BATCH_DISCARDED,
    ..EMPTY_RESULT
};

/// A failed element's result; its text is kept in `messages` until the
/// instance's next call.
fn failed(
    e: t2::ProcessError,
    limits: &tvb_guest_limits,
    messages: &mut Vec<String>,
) -> tvb_batch_result {
    let (kind, text) = error_parts!(e, t2, limits);
    messages.push(text);
    tvb_batch_result {
        outcome: tvb_batch_outcome::TVB_BATCH_FAILED,
        error_kind: kind,
        message: view(messages.last().map_or(&[][..], |m| m.as_bytes())),
        ..EMPTY_RESULT
    }
}

/// The guest's per-element answers, one per element of the batch, each
/// turned into `results[i]` by `each` (given where to keep failure texts).
fn fill<T>(
    what: &str,
    answers: Vec<T>,
    count: usize,
    results: *mut tvb_batch_result,
    messages: &mut Vec<String>,
    mut each: impl FnMut(T, &mut Vec<String>) -> tvb_batch_result,
) -> Call {
    check_count(what, answers.len(), count)?;
    messages.clear();
    let results = unsafe { std::slice::from_raw_parts_mut(results, count) };
    for (slot, answer) in results.iter_mut().zip(answers) {
        *slot = each(answer, messages);
    }
    Ok(())
}

/// An element a guest handed back in a batch, as the C++ host reads it.
fn emitted(o: t2::BatchOutput) -> tvb_batch_result {
    let (by_value, payload, offset, len) = match o.payload {
        t2::OutputPayload::Inline(range) => (1, 0, range.offset, range.len),
        t2::OutputPayload::Owned(b) => (0, b.rep(), 0, 0),
    };
    tvb_batch_result {
        sequence: o.meta.sequence,
        timestamp_ns: o.meta.timestamp_ns,
        by_value,
        payload,
        offset,
        len,
        content_type: o.content_type,
        ..EMPTY_RESULT
    }
}

/// Keeps what a batch call returned besides its results (payload bytes and
/// content types) in the instance, for the C++ host to read until the next
/// call.
fn keep_outputs(
    sc: &mut BatchScratch,
    bytes: Vec<u8>,
    types: Vec<String>,
    out: *mut tvb_batch_output,
) {
    sc.bytes_out = bytes;
    sc.types_out = types;
    sc.type_views.clear();
    sc.type_views
        .extend(sc.types_out.iter().map(|t| view(t.as_bytes())));
    unsafe {
        *out = tvb_batch_output {
            bytes: view(&sc.bytes_out),
            content_types: sc.type_views.as_ptr(),
            content_type_count: sc.type_views.len(),
        }
    };
}

/// What a processor's batch returned besides its results: payload bytes and
/// content types, bounded like anything else a guest hands over in one call.
fn check_outputs(bytes: &[u8], types: &[String], limits: &tvb_guest_limits) -> Call {
    if bytes.len() as u64 > limits.call_transfer_bytes {
        return Err(fail(
            TVB_HOST_LIMIT,
            format!(
                "a batch call returned {} bytes; at most {} are accepted in one call",
                bytes.len(),
                limits.call_transfer_bytes
            ),
        ));
    }
    if types.len() as u64 > limits.list_items {
        return Err(fail(
            TVB_HOST_LIMIT,
            format!(
                "a batch call returned {} content types; at most {} are accepted",
                types.len(),
                limits.list_items
            ),
        ));
    }
    Ok(())
}

/// What a source said about the pull after its batch.
#[repr(C)]
pub struct tvb_next_pull {
    /// 0: more when there is demand; 1: nothing yet (ask again after
    /// `retry_after_ns`, 0: when the host sees fit); 2: exhausted.
    pub state: u8,
    pub retry_after_ns: u64,
}

/// A source's batch: up to `max` elements into `results` (`*count` of
/// them), their bytes and content types in `out`, and what follows in `next`.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_pull_batch(
    instance: *mut tvb_instance,
    max: u32,
    context: u32,
    results: *mut tvb_batch_result,
    count: *mut usize,
    out: *mut tvb_batch_output,
    next: *mut tvb_next_pull,
) -> *mut tvb_error {
    with_instance(instance, |i| {
        let Some(BatchGuest::Source(g)) = &i.batch else {
            return wrong_role();
        };
        i.store.data_mut().context = context;
        let limits = i.limits;
        let r = match g.call_pull_batch(&mut i.store, max)? {
            Ok(r) => r,
            Err(e) => {
                let (kind, text) = error_parts!(e, t2, limits);
                return Ok(Err(guest_failure(kind, text)));
            }
        };
        if r.elements.len() > max as usize {
            return Ok(Err(guest_failure(
                tvb_process_error_kind::TVB_ERR_INTERNAL,
                format!(
                    "pull-batch returned {} elements; {max} were asked for",
                    r.elements.len()
                ),
            )));
        }
        if let Err(e) = check_outputs(&r.bytes, &r.content_types, &limits) {
            return Ok(Err(e));
        }
        let slots = unsafe { std::slice::from_raw_parts_mut(results, max as usize) };
        unsafe { *count = r.elements.len() };
        for (slot, o) in slots.iter_mut().zip(r.elements) {
            *slot = emitted(o);
        }
        use v2::batch_source::NextPull;
        let (state, retry_after_ns) = match r.next {
            NextPull::More => (0, 0),
            NextPull::Pending(ns) => (1, ns),
            NextPull::Exhausted => (2, 0),
        };
        unsafe {
            *next = tvb_next_pull {
                state,
                retry_after_ns,
            }
        };
        keep_outputs(&mut i.scratch, r.bytes, r.content_types, out);
        Ok(Ok(()))
    })
}

/// A processor's batch: `results` has room for one result per element;
/// `out` tells where the outputs' bytes and content types are.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_process_batch(
    instance: *mut tvb_instance,
    batch: *const tvb_batch,
    results: *mut tvb_batch_result,
    out: *mut tvb_batch_output,
) -> *mut tvb_error {
    let batch = unsafe { &*batch };
    with_instance(instance, |i| {
        let Some(BatchGuest::Processor(g)) = &i.batch else {
            return wrong_role();
        };
        let (limits, sc) = (i.limits, &mut i.scratch);
        let (elements, bytes) = unsafe { lend_batch(&mut i.store, batch, &mut sc.types_in) };
        let r = g.call_process_batch(&mut i.store, &elements, bytes, &sc.types_in)?;
        if let Err(e) = check_outputs(&r.bytes, &r.content_types, &limits) {
            return Ok(Err(e));
        }
        let filled = fill(
            "process-batch",
            r.results,
            batch.count,
            results,
            &mut sc.messages,
            |result, messages| {
                use v2::batch_processor::BatchResult;
                match result {
                    BatchResult::Emit(o) => emitted(o),
                    BatchResult::Drop => DISCARDED,
                    BatchResult::Failed(e) => failed(e, &limits, messages),
                }
            },
        );
        if filled.is_err() {
            return Ok(filled);
        }
        keep_outputs(sc, r.bytes, r.content_types, out);
        Ok(Ok(()))
    })
}

/// A sink's batch: one result per element (DONE or FAILED); `*pause` = 1
/// when the sink asked to pause.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_push_batch(
    instance: *mut tvb_instance,
    batch: *const tvb_batch,
    results: *mut tvb_batch_result,
    pause: *mut i32,
) -> *mut tvb_error {
    let batch = unsafe { &*batch };
    with_instance(instance, |i| {
        let Some(BatchGuest::Sink(g)) = &i.batch else {
            return wrong_role();
        };
        let (limits, sc) = (i.limits, &mut i.scratch);
        let (elements, bytes) = unsafe { lend_batch(&mut i.store, batch, &mut sc.types_in) };
        let r = g.call_push_batch(&mut i.store, &elements, bytes, &sc.types_in)?;
        unsafe { *pause = i32::from(r.signal == t2::BackpressureSignal::Pause) };
        Ok(fill(
            "push-batch",
            r.results,
            batch.count,
            results,
            &mut sc.messages,
            |result, messages| match result {
                Ok(()) => EMPTY_RESULT,
                Err(e) => failed(e, &limits, messages),
            },
        ))
    })
}

/// A filter's batch: one result per element (DONE keeps it, DISCARDED
/// drops it, or FAILED).
#[unsafe(no_mangle)]
pub extern "C" fn tvb_call_accept_batch(
    instance: *mut tvb_instance,
    batch: *const tvb_batch,
    results: *mut tvb_batch_result,
) -> *mut tvb_error {
    let batch = unsafe { &*batch };
    with_instance(instance, |i| {
        let Some(BatchGuest::Filter(g)) = &i.batch else {
            return wrong_role();
        };
        let (limits, sc) = (i.limits, &mut i.scratch);
        let (elements, bytes) = unsafe { lend_batch(&mut i.store, batch, &mut sc.types_in) };
        let r = g.call_accept_batch(&mut i.store, &elements, bytes, &sc.types_in)?;
        Ok(fill(
            "accept-batch",
            r,
            batch.count,
            results,
            &mut sc.messages,
            |verdict, messages| {
                use v2::batch_filter::Verdict;
                match verdict {
                    Verdict::Keep => EMPTY_RESULT,
                    Verdict::Discard => DISCARDED,
                    Verdict::Failed(e) => failed(e, &limits, messages),
                }
            },
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> tvb_guest_limits {
        tvb_guest_limits {
            call_transfer_bytes: 64,
            component_handles: 100,
            wasi_resources: 16,
            text_bytes: 64,
            list_items: 2,
            name_bytes: 4,
            stream_write_bytes: 4096,
            stop_check_ms: 10,
        }
    }

    #[test]
    fn a_batchs_outputs_are_bounded() {
        let l = limits();
        let types = |n: usize| vec!["text/plain".to_string(); n];
        assert!(check_outputs(&[0; 64], &types(2), &l).is_ok());
        let bytes = check_outputs(&[0; 65], &types(1), &l).unwrap_err();
        assert_eq!(crate::error::tvb_error_status(&*bytes), TVB_HOST_LIMIT);
        let many = check_outputs(&[], &types(3), &l).unwrap_err();
        assert_eq!(crate::error::tvb_error_status(&*many), TVB_HOST_LIMIT);
    }

    #[test]
    fn every_element_needs_its_result() {
        let mut messages = Vec::new();
        let mut results = [EMPTY_RESULT, EMPTY_RESULT];
        let short = fill(
            "x",
            vec![()],
            2,
            results.as_mut_ptr(),
            &mut messages,
            |(), _| DISCARDED,
        );
        assert!(short.is_err());
        let ok = fill(
            "x",
            vec![(), ()],
            2,
            results.as_mut_ptr(),
            &mut messages,
            |(), _| DISCARDED,
        );
        assert!(ok.is_ok());
        assert!(
            results
                .iter()
                .all(|r| r.outcome == tvb_batch_outcome::TVB_BATCH_DISCARDED)
        );
    }
}
