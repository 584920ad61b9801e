// Package torvyn_glue connects the generated bindings to package torvyn.
package torvyn_glue

import (
	"time"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"torvyn.dev/sdk/torvyn"
	T "wit_component/torvyn_streaming_types"
)

type lentBuffer struct{ b *T.Buffer }

func (p lentBuffer) Size() uint64                 { return p.b.Size() }
func (p lentBuffer) ContentType() string          { return p.b.ContentType() }
func (p lentBuffer) Read(offset, n uint64) []byte { return p.b.Read(offset, n) }
func (p lentBuffer) ReadAll() []byte              { return p.b.ReadAll() }

// Lend wraps an element lent for the current call.
func Lend(se T.StreamElement) *torvyn.Element {
	return torvyn.LendElement(se.Meta.Sequence, se.Meta.TimestampNs, lentBuffer{se.Payload})
}

// Return ends the loan: the borrow handle is dropped before the export
// returns, as the component model requires.
func Return(se T.StreamElement, e *torvyn.Element) {
	e.EndLoan()
	se.Payload.Drop()
}

// Err maps an error to the contract's process-error.
func Err(err error) T.ProcessError {
	e := torvyn.AsError(err)
	switch e.Kind {
	case torvyn.KindInvalidInput:
		return T.MakeProcessErrorInvalidInput(e.Message)
	case torvyn.KindUnavailable:
		return T.MakeProcessErrorUnavailable(e.Message)
	case torvyn.KindDeadlineExceeded:
		return T.MakeProcessErrorDeadlineExceeded()
	case torvyn.KindFatal:
		return T.MakeProcessErrorFatal(e.Message)
	default:
		return T.MakeProcessErrorInternal(e.Message)
	}
}

// Recover turns a panic in a component's method into an internal error;
// use as `defer glue.Recover(&err)`.
func Recover(err *error) {
	if r := recover(); r != nil {
		*err = torvyn.Internal("panic: %v", r)
	}
}

// Result makes the contract's result from a value and an error.
func Result[V any](v V, err error) witTypes.Result[V, T.ProcessError] {
	if err != nil {
		return witTypes.Err[V](Err(err))
	}
	return witTypes.Ok[V, T.ProcessError](v)
}

// Unit is the contract's result<_, process-error>.
func Unit(err error) witTypes.Result[witTypes.Unit, T.ProcessError] {
	return Result(witTypes.Unit{}, err)
}

var value any

// Instance is the exported value, checked against the role this component
// was built for (by Init).
func Instance[V any]() V { return value.(V) }

// Init finds the exported value, checks its role and calls its Init.
func Init(config string) (err error) {
	defer Recover(&err)
	role, v := torvyn.Exported()
	switch {
	case v == nil:
		return torvyn.Fatal("nothing exported: call torvyn.Export%s%s in an init function", upper(Role[:1]), Role[1:])
	case role != Role:
		return torvyn.Fatal("the component exported a %s but was built as a %s", role, Role)
	}
	value = v
	return v.(torvyn.Lifecycle).Init(config)
}

func upper(s string) string { return string(s[0] - 'a' + 'A') }

// Teardown calls the exported value's Teardown once.
func Teardown() {
	if value == nil {
		return
	}
	defer func() { _ = recover() }()
	v := value
	value = nil
	v.(torvyn.Lifecycle).Teardown()
}

func init() {
	torvyn.SetHost(torvyn.Host{
		Context: func() torvyn.FlowContext {
			c := T.CurrentContext()
			fc := torvyn.FlowContext{FlowID: c.FlowId, TraceID: c.TraceId, SpanID: c.SpanId}
			if c.RemainingDeadlineNs.IsSome() {
				fc.HasDeadline = true
				fc.Remaining = durationNs(c.RemainingDeadlineNs.Some())
			}
			return fc
		},
		WhyDeadLettered: func() (torvyn.DeadLetterReason, bool) {
			w := T.WhyDeadLettered()
			if w.IsNone() {
				return torvyn.DeadLetterReason{}, false
			}
			r := w.Some()
			return torvyn.DeadLetterReason{Code: r.Code, Kind: r.Kind, Message: r.Message, Node: r.Node, Attempts: r.Attempts}, true
		},
	})
}

func durationNs(ns uint64) time.Duration { return time.Duration(ns) }
