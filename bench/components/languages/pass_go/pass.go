// Package pass is the pass-through processor of the language comparison, in Go.
package pass

import "torvyn.dev/sdk/torvyn"

type Pass struct{ torvyn.Base }

func (Pass) Process(e *torvyn.Element) (*torvyn.Output, error) {
	return &torvyn.Output{Payload: e.Bytes(), ContentType: e.ContentType()}, nil
}

func init() { torvyn.ExportProcessor(Pass{}) }
