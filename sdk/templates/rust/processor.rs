//! {{name}}: a Torvyn processor in Rust. Upper-cases ASCII letters.

struct {{Name}};

impl torvyn::Processor for {{Name}} {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok({{Name}})
    }

    fn process(&mut self, e: &torvyn::Element<'_>) -> Result<Option<torvyn::Output>, torvyn::Error> {
        let text = e.read_all().to_ascii_uppercase();
        torvyn::output(&text, "text/plain", e).map(Some)
    }
}

torvyn::processor!({{Name}});
