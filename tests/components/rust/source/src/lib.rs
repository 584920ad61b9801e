// A Rust source for the tests: "rust 0", "rust 1", ... (config count=N, default 3).
struct Count {
    next: u64,
    count: u64,
}
impl torvyn::Source for Count {
    fn init(config: &str) -> Result<Self, torvyn::Error> {
        let count = config
            .strip_prefix("count=")
            .and_then(|v| v.parse().ok())
            .unwrap_or(3);
        Ok(Count { next: 0, count })
    }
    fn pull(&mut self) -> Result<torvyn::Pulled, torvyn::Error> {
        if self.next == self.count {
            return Ok(torvyn::Pulled::Exhausted);
        }
        let n = self.next;
        self.next += 1;
        Ok(torvyn::Pulled::Element(torvyn::new_output(
            format!("rust {n}").as_bytes(),
            "text/plain",
            n,
        )?))
    }
}
torvyn::source!(Count);
