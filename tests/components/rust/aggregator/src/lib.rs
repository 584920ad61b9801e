// A Rust aggregator for the tests: counts what it absorbs and, when its
// input ends, emits one element "count=N".
struct Count {
    seen: u64,
}

impl torvyn::Aggregator for Count {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok(Count { seen: 0 })
    }
    fn ingest(
        &mut self,
        _e: &torvyn::Element<'_>,
    ) -> Result<Option<torvyn::Output>, torvyn::Error> {
        self.seen += 1;
        Ok(None)
    }
    fn flush(&mut self) -> Result<Vec<torvyn::Output>, torvyn::Error> {
        let text = format!("count={}", self.seen);
        Ok(vec![torvyn::new_output(text.as_bytes(), "text/plain", 0)?])
    }
}

torvyn::aggregator!(Count);
