// Package {{name}} is a Torvyn processor in Go. It upper-cases ASCII letters.
package {{name}}

import (
	"bytes"

	"torvyn.dev/sdk/torvyn"
)

type {{Name}} struct{ torvyn.Base }

func ({{Name}}) Process(e *torvyn.Element) (*torvyn.Output, error) {
	// nil, nil would drop the element.
	return &torvyn.Output{Payload: bytes.ToUpper(e.Bytes()), ContentType: "text/plain"}, nil
}

func init() { torvyn.ExportProcessor({{Name}}{}) }
