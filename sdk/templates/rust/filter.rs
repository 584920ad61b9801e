//! {{name}}: a Torvyn filter in Rust. Keeps elements with an even sequence number.

struct {{Name}};

impl torvyn::Filter for {{Name}} {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok({{Name}})
    }

    fn accept(&mut self, e: &torvyn::Element<'_>) -> Result<bool, torvyn::Error> {
        Ok(e.sequence() % 2 == 0)
    }
}

torvyn::filter!({{Name}});
