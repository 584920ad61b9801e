package torvyn

import "time"

// FlowContext is what the host knows about the flow the current call serves.
type FlowContext struct {
	FlowID  string
	TraceID string // W3C trace-context trace id
	SpanID  string // W3C span id of this call
	// Remaining is the time left before the element's deadline; HasDeadline
	// is false when it has none.
	Remaining   time.Duration
	HasDeadline bool
}

// DeadLetterReason says why the element a dead-letter sink is given was
// dead-lettered.
type DeadLetterReason struct {
	Code     string // "E0303", ...
	Kind     string // "invalid-input", ..., "trap", "deadline", "limit"
	Message  string
	Node     string // the node that gave the element up
	Attempts uint32
}

// Host answers the contract's host queries. The build's glue code sets it;
// tests may set their own.
type Host struct {
	Context         func() FlowContext
	WhyDeadLettered func() (DeadLetterReason, bool)
}

var host Host

// SetHost installs the host queries. For the build's glue code and tests.
func SetHost(h Host) { host = h }

// Context asks the host about the flow of the call in progress (one host
// call). Outside a component it is empty.
func Context() FlowContext {
	if host.Context == nil {
		return FlowContext{}
	}
	return host.Context()
}

// WhyDeadLettered says, during a dead-letter sink's Push, why the element was
// dead-lettered; false for every other element and call.
func WhyDeadLettered() (DeadLetterReason, bool) {
	if host.WhyDeadLettered == nil {
		return DeadLetterReason{}, false
	}
	return host.WhyDeadLettered()
}
