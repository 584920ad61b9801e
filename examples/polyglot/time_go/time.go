// Package time_go is a processor in Go: adds the record's time as RFC 3339
// text ("time":"2026-01-01T00:00:07Z") from its Unix seconds ("ts"). It only
// formats: the component cannot read a clock (it has no grant).
package time_go

import (
	"bytes"
	"encoding/json"
	"time"

	"torvyn.dev/sdk/torvyn"
)

type Stamp struct{ torvyn.Base }

func (Stamp) Process(e *torvyn.Element) (*torvyn.Output, error) {
	record := e.Bytes()
	var fields struct {
		Ts *int64 `json:"ts"`
	}
	if err := json.Unmarshal(record, &fields); err != nil || fields.Ts == nil {
		return nil, torvyn.InvalidInput("no \"ts\" in the record")
	}
	end := bytes.LastIndexByte(record, '}')
	if end < 0 {
		return nil, torvyn.InvalidInput("the record is not a JSON object")
	}
	stamp := time.Unix(*fields.Ts, 0).UTC().Format(time.RFC3339)
	out := append(record[:end:end], `,"time":"`+stamp+`"}`...)
	return &torvyn.Output{Payload: out, ContentType: e.ContentType()}, nil
}

func init() { torvyn.ExportProcessor(Stamp{}) }
