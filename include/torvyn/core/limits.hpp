// Every limit on what a guest can make the host hold or do, in one place,
// each with the reason for its value. docs/limits.md lists them for users.
//
// The rule they implement: a guest (even one with no grant at all) can make
// the host hold only a bounded number of bytes; bytes that outlive the call
// that made them are charged to the node's and the flow's byte budgets
// (max-buffer-memory); everything else is bounded per call.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace torvyn::limits {

// --- what guests hand the host --------------------------------------------

// A content type is a MIME type; RFC 6838 caps type and subtype at 127
// characters each, and parameters ("; charset=utf-8") are short.
inline constexpr std::size_t kMaxContentTypeBytes = 256;

// Guest text the host keeps or prints (returned errors, trap messages, names
// from the component): a sentence with some context. Longer text is cut, and
// the original length noted, where it enters the host.
inline constexpr std::size_t kMaxGuestTextBytes = 1024;

// Bytes a guest may pass to the host in one call, over all its arguments or
// results (payload writes, WASI writes, returned strings and lists). This is
// Wasmtime's "hostcall fuel"; it bounds what the host allocates while it
// lifts a value out of guest memory. Larger payloads are written with
// several appends (the SDK does this).
inline constexpr std::size_t kMaxCallTransferBytes = 16u << 20;

// Bookkeeping charged to the byte budgets per live buffer, besides its
// payload block and content type: the buffer store's slot and the guest's
// handle-table entry (about 100 bytes together, rounded up).
inline constexpr std::uint64_t kBufferOverheadBytes = 128;

// Buffers one node may hold at once (mutable or frozen, not yet handed to
// the host). A pipeline stage holds a handful; a guest hoarding handles is
// stopped long before its handle table is large.
inline constexpr std::uint32_t kMaxBuffersPerNode = 65'536;

// Component-model handles one instance may hold (Wasmtime's per-store cap):
// its buffers, the borrows of the current call and its WASI resources.
inline constexpr std::size_t kMaxComponentHandles = kMaxBuffersPerNode + 8'192;

// WASI resources (streams, pollables, descriptors, sockets) one node may
// hold at once. Each is a host object, and an open file or socket is also a
// file descriptor of the host process: a node with a grant holds at most
// this many, far below a process's limit (the CLI raises its soft limit to
// the hard one at start).
inline constexpr std::size_t kMaxWasiResources = 256;

// Port names a router may declare or return for one element, and the length
// of one name. A port is an edge of the manifest; flows have a few.
inline constexpr std::size_t kMaxRouterPorts = 256;
inline constexpr std::size_t kMaxPortNameBytes = 128;

// Elements an aggregator may return from one flush: each carries a buffer,
// so the node's buffer limit bounds them first; this bounds the list.
inline constexpr std::size_t kMaxFlushOutputs = kMaxBuffersPerNode;

// Table elements per table when the manifest sets no max-table-elements.
// Tables live in host memory (8-16 bytes per element); C and C++ guests use
// a few hundred for indirect calls. Matches the pooling allocator's default.
inline constexpr std::uint64_t kDefaultMaxTableElements = 20'000;

// A payload up to this size travels by value in a batch (contract 0.2): one
// counted copy into the guest with the batch, no handle, no host call to
// read it. Larger ones are lent as handles, read as the guest needs (a copy
// by value would cost the host a second copy when gathering the batch).
inline constexpr std::size_t kBatchInlineBytes = 16u << 10;
// Bytes by value per batch call, so that a batch grows the guest's memory
// by at most this much; the elements after that are lent.
inline constexpr std::size_t kBatchInlineTotalBytes = 256u << 10;
// Payload bytes per batch call, lent or by value: a batch with more is
// handed over in several calls, so a component reading all it is given
// stays within kMaxCallTransferBytes per call.
inline constexpr std::size_t kBatchCallBytes = 4u << 20;
// A guest source that answers "pending" without saying when to ask again is
// asked again after this (a guest has no way to wake the host).
inline constexpr std::chrono::milliseconds kGuestPendingRetry{1};
// Elements per batch call at most, whatever the manifest's `batch` says.
inline constexpr std::size_t kMaxBatch = 1'024;
// Driver threads one flow may use (the manifest's `threads`).
inline constexpr std::uint32_t kMaxFlowThreads = 64;

// --- what guests can make the host do ---------------------------------------

// Bytes a guest may write to stdout or stderr per call (WASI's check-write
// permit); guests loop over larger writes.
inline constexpr std::size_t kMaxStreamWriteBytes = 64u << 10;

// A line of guest stderr is printed with the node's name in front; a line
// longer than this is printed in pieces, so the host buffers at most this
// much per node.
inline constexpr std::size_t kMaxGuestLineBytes = 4'096;

// A blocking WASI call (poll, stream reads and writes) re-checks the call's
// deadline and stop requests this often.
inline constexpr std::chrono::milliseconds kBlockingCheckInterval{10};

// A running guest re-checks stop requests this often (epoch ticks of 1 ms).
inline constexpr std::uint64_t kStopCheckTicks = 10;

// Denied-capability audit entries per node per second; the rest are counted
// and the count is written with the next entry, so a guest retrying a
// refused connection in a loop cannot fill the disk.
inline constexpr int kMaxDenialsPerSecond = 10;

// After a forced stop (second SIGINT/SIGTERM), how long flows get to end
// their current call before the process exits anyway.
inline constexpr std::chrono::milliseconds kForcedExitGrace{500};

// Largest component file the host reads (compile time and memory grow with
// it; real components are kilobytes to tens of megabytes).
inline constexpr std::uintmax_t kMaxComponentFileBytes = 256u << 20;

// --- connectors ---------------------------------------------------------------

// A line or frame a connector reads becomes one buffer, held whole: the
// default bound (max-line-bytes, max-frame-bytes) suits records, and no
// setting may go above what a guest may take in one call.
inline constexpr std::uint64_t kDefaultConnectorElementBytes = 1u << 20;
inline constexpr std::uint64_t kMaxConnectorElementBytes = kMaxCallTransferBytes;
// A file connector reads (and a sink writes) at most this much per system call.
inline constexpr std::size_t kConnectorIoChunk = 64u << 10;
// A source with nothing to read yet (stdin, a followed file) is asked again
// after this: reads are cheap, and a line waits at most this long.
inline constexpr std::chrono::milliseconds kConnectorPollInterval{20};
// A broker message's headers become element attributes: at most this many
// values, names and values together at most this many bytes (a message over
// either is a bad record, handled by the node's on-error).
inline constexpr std::size_t kMaxConnectorHeaders = 64;
inline constexpr std::size_t kMaxConnectorHeaderBytes = 16u << 10;
// A NATS source's fetch: at most this many messages per request (the
// `fetch` setting), and how long one request waits on the server (a long
// poll: an idle source costs a request per wait, a stop waits at most this).
inline constexpr std::int64_t kMaxNatsFetch = 4'096;
inline constexpr std::chrono::milliseconds kNatsFetchWait{500};

}  // namespace torvyn::limits
