//! The pass-through processor of the language comparison, in Rust.

struct Pass;

impl torvyn::Processor for Pass {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok(Pass)
    }

    fn process(&mut self, e: &torvyn::Element<'_>) -> Result<Option<torvyn::Output>, torvyn::Error> {
        torvyn::output(&e.read_all(), "application/octet-stream", e).map(Some)
    }
}

torvyn::processor!(Pass);
