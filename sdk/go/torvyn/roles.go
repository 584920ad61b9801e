package torvyn

import (
	"errors"
	"fmt"
	"time"
)

// Lifecycle is part of every role. Init is called once before the first
// element with the node's config string from the manifest (empty when
// none); an error stops the flow before it starts. Teardown is called once
// when the flow ends. The host calls one method at a time.
type Lifecycle interface {
	Init(config string) error
	Teardown()
}

// Base gives a component no-op Init and Teardown methods: embed it when
// there is nothing to set up.
type Base struct{}

func (Base) Init(string) error { return nil }
func (Base) Teardown()         {}

// Source makes elements. Pull returns the next one; (nil, nil) or
// Pending(d) when there is none yet; ErrExhausted when there are no more.
// It may also implement Notifier.
type Source interface {
	Lifecycle
	Pull() (*Output, error)
}

// Notifier is optional for sources: the host tells it when downstream is
// pressured (pause true; it is not pulled meanwhile) and when it recovers.
type Notifier interface {
	Notify(pause bool)
}

// Processor transforms elements: one in, one out, or none (nil: dropped).
type Processor interface {
	Lifecycle
	Process(e *Element) (*Output, error)
}

// Signal is a consumer's flow control.
type Signal uint8

const (
	// Ready: send more.
	Ready Signal = iota
	// Pause: hold further elements until further notice.
	Pause
)

// Sink consumes elements at the end of a flow; Complete follows the last.
type Sink interface {
	Lifecycle
	Push(e *Element) (Signal, error)
	Complete() error
}

// Filter keeps (true) or discards elements; kept ones go on unchanged,
// without a copy.
type Filter interface {
	Lifecycle
	Accept(e *Element) (bool, error)
}

// Router names the output ports each element goes to (none: discarded).
// Ports lists every name Route may return; the host checks them against
// the flow's edges after Init.
type Router interface {
	Lifecycle
	Ports() []string
	Route(e *Element) ([]string, error)
}

// Aggregator absorbs elements, may emit one per element, and emits what it
// still holds when its input ends (Flush).
type Aggregator interface {
	Lifecycle
	Ingest(e *Element) (*Output, error)
	Flush() ([]*Output, error)
}

// ErrExhausted is what a source's Pull returns when it has no more
// elements, ever.
var ErrExhausted = errors.New("torvyn: source exhausted")

// PendingError is what Pending returns.
type PendingError struct{ After time.Duration }

func (p *PendingError) Error() string {
	return fmt.Sprintf("torvyn: nothing yet, ask again in %v", p.After)
}

// Pending is what a source's Pull returns when it has nothing yet: the host
// asks again after d (0: when it sees fit), without spinning.
func Pending(d time.Duration) error { return &PendingError{d} }

var registered struct {
	role  string
	value any
}

func register(role string, v any) {
	if registered.value != nil {
		panic(fmt.Sprintf("torvyn: a %s is already exported; a component exports one value", registered.role))
	}
	registered.role, registered.value = role, v
}

// ExportSource makes s the component's source. Call it from an init function.
func ExportSource(s Source) { register("source", s) }

// ExportProcessor makes p the component's processor.
func ExportProcessor(p Processor) { register("processor", p) }

// ExportSink makes s the component's sink.
func ExportSink(s Sink) { register("sink", s) }

// ExportFilter makes f the component's filter.
func ExportFilter(f Filter) { register("filter", f) }

// ExportRouter makes r the component's router.
func ExportRouter(r Router) { register("router", r) }

// ExportAggregator makes a the component's aggregator.
func ExportAggregator(a Aggregator) { register("aggregator", a) }

// Exported returns the role and value that were exported (role "" when
// none). For the build's glue code.
func Exported() (role string, value any) { return registered.role, registered.value }
