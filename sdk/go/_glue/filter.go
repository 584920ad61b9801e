package export_torvyn_streaming_filter

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"torvyn.dev/sdk/torvyn"
	glue "wit_component/torvyn_glue"
	T "wit_component/torvyn_streaming_types"
)

func Accept(se T.StreamElement) witTypes.Result[bool, T.ProcessError] {
	r, err := accept(se)
	return glue.Result(r, err)
}

func accept(se T.StreamElement) (r bool, err error) {
	e := glue.Lend(se)
	defer glue.Return(se, e)
	defer glue.Recover(&err)
	return glue.Instance[torvyn.Filter]().Accept(e)
}
