//! {{name}}: a Torvyn source in Rust. Emits "{{name}} 0", "{{name}} 1", ...
//! (config "count=N", default 5), then ends.

struct {{Name}} {
    next: u64,
    count: u64,
}

impl torvyn::Source for {{Name}} {
    fn init(config: &str) -> Result<Self, torvyn::Error> {
        let count = config.strip_prefix("count=").and_then(|v| v.parse().ok()).unwrap_or(5);
        Ok({{Name}} { next: 0, count })
    }

    fn pull(&mut self) -> Result<torvyn::Pulled, torvyn::Error> {
        if self.next == self.count {
            return Ok(torvyn::Pulled::Exhausted);
        }
        let text = format!("{{name}} {}", self.next);
        self.next += 1;
        Ok(torvyn::Pulled::Element(torvyn::new_output(text.as_bytes(), "text/plain", self.next - 1)?))
    }
}

torvyn::source!({{Name}});
