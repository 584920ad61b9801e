package export_torvyn_streaming_router

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"torvyn.dev/sdk/torvyn"
	glue "wit_component/torvyn_glue"
	T "wit_component/torvyn_streaming_types"
)

func Ports() (ports []string) {
	defer func() {
		if recover() != nil {
			ports = nil
		}
	}()
	return glue.Instance[torvyn.Router]().Ports()
}

func Route(se T.StreamElement) witTypes.Result[[]string, T.ProcessError] {
	r, err := route(se)
	return glue.Result(r, err)
}

func route(se T.StreamElement) (r []string, err error) {
	e := glue.Lend(se)
	defer glue.Return(se, e)
	defer glue.Recover(&err)
	return glue.Instance[torvyn.Router]().Route(e)
}
