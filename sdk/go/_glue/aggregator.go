package export_torvyn_streaming_aggregator

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"torvyn.dev/sdk/torvyn"
	glue "wit_component/torvyn_glue"
	T "wit_component/torvyn_streaming_types"
)

func Ingest(se T.StreamElement) witTypes.Result[witTypes.Option[T.OutputElement], T.ProcessError] {
	r, err := ingest(se)
	return glue.Result(r, err)
}

func ingest(se T.StreamElement) (r witTypes.Option[T.OutputElement], err error) {
	e := glue.Lend(se)
	defer glue.Return(se, e)
	defer glue.Recover(&err)
	out, err := glue.Instance[torvyn.Aggregator]().Ingest(e)
	if err != nil || out == nil {
		return witTypes.None[T.OutputElement](), err
	}
	o, err := glue.Output(out, T.ElementMeta{})
	if err != nil {
		return r, err
	}
	return witTypes.Some(o), nil
}

func Flush() witTypes.Result[[]T.OutputElement, T.ProcessError] {
	r, err := flush()
	return glue.Result(r, err)
}

func flush() (r []T.OutputElement, err error) {
	defer glue.Recover(&err)
	outs, err := glue.Instance[torvyn.Aggregator]().Flush()
	if err != nil {
		return nil, err
	}
	r = make([]T.OutputElement, 0, len(outs))
	for _, out := range outs {
		if out == nil {
			continue
		}
		o, err := glue.Output(out, T.ElementMeta{})
		if err != nil {
			for i := range r {
				r[i].Payload.Drop()
			}
			return nil, err
		}
		r = append(r, o)
	}
	return r, nil
}
