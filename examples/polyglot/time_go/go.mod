module torvyn.dev/examples/polyglot/time_go

go 1.25

require torvyn.dev/sdk v0.0.0

replace torvyn.dev/sdk => ../../../sdk/go
