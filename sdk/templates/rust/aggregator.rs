//! {{name}}: a Torvyn aggregator in Rust. Counts what it absorbs and, when
//! its input ends, emits one element "count=N".

struct {{Name}} {
    absorbed: u64,
}

impl torvyn::Aggregator for {{Name}} {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok({{Name}} { absorbed: 0 })
    }

    fn ingest(&mut self, _e: &torvyn::Element<'_>) -> Result<Option<torvyn::Output>, torvyn::Error> {
        self.absorbed += 1;
        Ok(None) // nothing to emit yet
    }

    fn flush(&mut self) -> Result<Vec<torvyn::Output>, torvyn::Error> {
        let text = format!("count={}", self.absorbed);
        Ok(vec![torvyn::new_output(text.as_bytes(), "text/plain", 0)?])
    }
}

torvyn::aggregator!({{Name}});
