// Package sum is a Torvyn aggregator in Go: adds decimal numbers, emits "sum=S" every 4th element and "total=S" at the end.
package sum

import (
	"strconv"

	"torvyn.dev/sdk/torvyn"
)

type Sum struct {
	torvyn.Base
	sum, n uint64
}

func (s *Sum) Ingest(e *torvyn.Element) (*torvyn.Output, error) {
	v, err := strconv.ParseUint(string(e.Bytes()), 10, 64)
	if err != nil {
		return nil, torvyn.InvalidInput("%v", err)
	}
	s.sum += v
	s.n++
	if s.n%4 == 0 {
		return &torvyn.Output{Payload: []byte("sum=" + strconv.FormatUint(s.sum, 10))}, nil
	}
	return nil, nil
}
func (s *Sum) Flush() ([]*torvyn.Output, error) {
	return []*torvyn.Output{{Payload: []byte("total=" + strconv.FormatUint(s.sum, 10))}}, nil
}
func init() { torvyn.ExportAggregator(&Sum{}) }
