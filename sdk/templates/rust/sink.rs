//! {{name}}: a Torvyn sink in Rust. Counts what it is given; an empty payload
//! is refused as invalid input (the node's on-error decides what follows).

struct {{Name}} {
    received: u64,
}

impl torvyn::Sink for {{Name}} {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok({{Name}} { received: 0 })
    }

    fn push(&mut self, e: &torvyn::Element<'_>) -> Result<bool, torvyn::Error> {
        if e.size() == 0 {
            return Err(torvyn::Error::InvalidInput("empty element".into()));
        }
        self.received += 1;
        Ok(false) // true would ask the host to pause
    }
}

torvyn::sink!({{Name}});
