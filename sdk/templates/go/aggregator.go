// Package {{name}} is a Torvyn aggregator in Go. It counts what it absorbs
// and, when its input ends, emits one element "count=N".
package {{name}}

import (
	"strconv"

	"torvyn.dev/sdk/torvyn"
)

type {{Name}} struct {
	torvyn.Base
	absorbed uint64
}

func (a *{{Name}}) Ingest(*torvyn.Element) (*torvyn.Output, error) {
	a.absorbed++
	return nil, nil // nothing to emit yet
}

func (a *{{Name}}) Flush() ([]*torvyn.Output, error) {
	text := "count=" + strconv.FormatUint(a.absorbed, 10)
	return []*torvyn.Output{{Payload: []byte(text), ContentType: "text/plain"}}, nil
}

func init() { torvyn.ExportAggregator(&{{Name}}{}) }
