// Package torvyn writes Torvyn streaming components in Go.
//
// A component is one Go package (not main) that implements the interface
// of its role and registers a value in an init function:
//
//	type Shout struct{ torvyn.Base }
//
//	func (Shout) Process(e *torvyn.Element) (*torvyn.Output, error) {
//		text := bytes.ToUpper(e.Bytes())
//		return &torvyn.Output{Payload: append(text, '!'), ContentType: "text/plain"}, nil
//	}
//
//	func init() { torvyn.ExportProcessor(Shout{}) }
//
// sdk/go/build.sh turns the package into a component for the role's world of
// torvyn:streaming@0.2.0. The component imports nothing but Torvyn
// interfaces: the Go runtime's WASI calls are answered inside the component
// (no arguments or environment, a virtual clock, a fixed-seed random stream,
// discarded stdout and stderr, no files), so it links with no grants.
//
// The package builds on any platform, so a component's logic can be tested
// with go test: NewElement makes an element from bytes.
package torvyn
