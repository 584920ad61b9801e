// A Rust filter for the tests: keeps even sequence numbers.
struct Even;
impl torvyn::Filter for Even {
    fn init(_c: &str) -> Result<Self, torvyn::Error> {
        Ok(Even)
    }
    fn accept(&mut self, e: &torvyn::Element<'_>) -> Result<bool, torvyn::Error> {
        Ok(e.sequence() % 2 == 0)
    }
}
torvyn::filter!(Even);
