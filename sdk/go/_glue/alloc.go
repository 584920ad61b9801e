package torvyn_glue

import (
	"torvyn.dev/sdk/torvyn"
	"wit_component/torvyn_streaming_buffer_allocator"
	T "wit_component/torvyn_streaming_types"
)

// Output copies an output's payload into a new host buffer (one call).
// meta is the default sequence and timestamp (a processor's input's).
func Output(o *torvyn.Output, meta T.ElementMeta) (T.OutputElement, error) {
	if o.Sequence != 0 {
		meta.Sequence = o.Sequence
	}
	if o.TimestampNs != 0 {
		meta.TimestampNs = o.TimestampNs
	}
	r := torvyn_streaming_buffer_allocator.Make(o.Payload, o.ContentType)
	if r.IsErr() {
		e := r.Err()
		return T.OutputElement{}, torvyn.Internal("the host refused a buffer of %d bytes (buffer-error %d)", len(o.Payload), e.Tag())
	}
	return T.OutputElement{Meta: meta, Payload: r.Ok()}, nil
}
