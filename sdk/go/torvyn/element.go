package torvyn

import (
	"context"
	"errors"
	"fmt"
)

// Payload is how an Element reaches its bytes: a host buffer lent for one
// call in a component, a byte slice in tests. Components do not implement it.
type Payload interface {
	Size() uint64
	ContentType() string
	Read(offset, n uint64) []byte
	ReadAll() []byte
}

// An Element is lent to one call of a component. Its payload stays in the
// host: Bytes and Read copy it in (the host counts each copy). An Element
// must not be kept after the call returns; using it then panics.
type Element struct {
	sequence    uint64
	timestampNs uint64
	payload     Payload
}

// Sequence is the element's position in its source's output, from 0.
func (e *Element) Sequence() uint64 { return e.sequence }

// TimestampNs is when the source made the element, in nanoseconds since the
// Unix epoch.
func (e *Element) TimestampNs() uint64 { return e.timestampNs }

// Size is the payload's length in bytes.
func (e *Element) Size() uint64 { return e.lent().Size() }

// ContentType is the payload's MIME-style type; empty when unknown.
func (e *Element) ContentType() string { return e.lent().ContentType() }

// Bytes copies the whole payload into the component.
func (e *Element) Bytes() []byte { return e.lent().ReadAll() }

// Read copies up to n bytes from offset (fewer, or none, past the end).
func (e *Element) Read(offset, n uint64) []byte { return e.lent().Read(offset, n) }

func (e *Element) lent() Payload {
	if e.payload == nil {
		panic("torvyn: element used after its call returned")
	}
	return e.payload
}

// LendElement wraps a payload lent for one call. For the build's glue code
// and for tests with a Payload of their own; components never call it.
func LendElement(sequence, timestampNs uint64, p Payload) *Element {
	return &Element{sequence: sequence, timestampNs: timestampNs, payload: p}
}

// EndLoan marks the element's call as over: later use panics. For the
// build's glue code.
func (e *Element) EndLoan() { e.payload = nil }

type bytesPayload struct {
	data        []byte
	contentType string
}

func (b *bytesPayload) Size() uint64        { return uint64(len(b.data)) }
func (b *bytesPayload) ContentType() string { return b.contentType }
func (b *bytesPayload) ReadAll() []byte     { return append([]byte(nil), b.data...) }
func (b *bytesPayload) Read(offset, n uint64) []byte {
	size := uint64(len(b.data))
	if offset >= size {
		return []byte{}
	}
	end := size
	if n < size-offset {
		end = offset + n
	}
	return append([]byte(nil), b.data[offset:end]...)
}

// NewElement makes an element from bytes, for tests of a component's logic
// outside Wasm.
func NewElement(sequence uint64, payload []byte, contentType string) *Element {
	return LendElement(sequence, 0, &bytesPayload{append([]byte(nil), payload...), contentType})
}

// An Output is an element a component makes. Its payload is copied into a
// new host buffer when the call returns (one host call, counted as a copy).
//
// A processor's output keeps its input's sequence and timestamp, and an
// aggregator's or a source's gets them from the host, unless they are set
// here (non-zero).
type Output struct {
	Payload     []byte
	ContentType string
	Sequence    uint64
	TimestampNs uint64
}

// Kind is the contract's process-error case; the node's on-error policy acts
// on it.
type Kind uint8

const (
	// KindInvalidInput: this element is malformed; others may succeed.
	KindInvalidInput Kind = iota
	// KindUnavailable: a dependency is briefly missing; a retry may succeed.
	KindUnavailable
	// KindInternal: a bug or unexpected state in the component.
	KindInternal
	// KindDeadlineExceeded: the element's deadline passed.
	KindDeadlineExceeded
	// KindFatal: the component cannot go on; the host stops calling it.
	KindFatal
)

var kindNames = [...]string{"invalid-input", "unavailable", "internal", "deadline-exceeded", "fatal"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Error is a failure the host sees as a process-error. Any other error a
// component returns reaches the host as KindInternal with its text (or
// KindDeadlineExceeded when it wraps context.DeadlineExceeded); a panic
// becomes KindInternal too.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Kind.String()
	}
	return e.Kind.String() + ": " + e.Message
}

// InvalidInput reports a malformed element.
func InvalidInput(format string, args ...any) error {
	return &Error{KindInvalidInput, fmt.Sprintf(format, args...)}
}

// Unavailable reports that something the component needs is briefly missing.
func Unavailable(format string, args ...any) error {
	return &Error{KindUnavailable, fmt.Sprintf(format, args...)}
}

// Internal reports a bug or unexpected state.
func Internal(format string, args ...any) error {
	return &Error{KindInternal, fmt.Sprintf(format, args...)}
}

// Fatal reports that the component cannot continue.
func Fatal(format string, args ...any) error {
	return &Error{KindFatal, fmt.Sprintf(format, args...)}
}

// ErrDeadlineExceeded reports that the element's deadline passed.
var ErrDeadlineExceeded error = &Error{Kind: KindDeadlineExceeded}

// AsError maps any error to the process-error the host receives.
func AsError(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindDeadlineExceeded}
	default:
		return &Error{KindInternal, err.Error()}
	}
}
