// A Rust router for the tests: even sequence numbers to port "even", odd to
// "odd", every 5th to both.
struct Parity;

impl torvyn::Router for Parity {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok(Parity)
    }
    fn ports(&self) -> Vec<String> {
        vec!["even".into(), "odd".into()]
    }
    fn route(&mut self, e: &torvyn::Element<'_>) -> Result<Vec<String>, torvyn::Error> {
        let n = e.sequence();
        if n % 5 == 0 {
            return Ok(vec!["even".into(), "odd".into()]);
        }
        Ok(vec![if n % 2 == 0 { "even" } else { "odd" }.into()])
    }
}

torvyn::router!(Parity);
