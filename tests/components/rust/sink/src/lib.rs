// A Rust sink for the tests: counts what it is given; an empty payload is invalid input.
struct Tally {
    n: u64,
}
impl torvyn::Sink for Tally {
    fn init(_c: &str) -> Result<Self, torvyn::Error> {
        Ok(Tally { n: 0 })
    }
    fn push(&mut self, e: &torvyn::Element<'_>) -> Result<bool, torvyn::Error> {
        if e.read_all().is_empty() {
            return Err(torvyn::Error::InvalidInput("empty".into()));
        }
        self.n += 1;
        Ok(false)
    }
}
torvyn::sink!(Tally);
