"""One module per role; each binds only its own world's interfaces."""
