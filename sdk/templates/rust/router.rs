//! {{name}}: a Torvyn router in Rust. Even sequence numbers to port "even",
//! odd ones to "odd".

struct {{Name}};

impl torvyn::Router for {{Name}} {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok({{Name}})
    }

    fn ports(&self) -> Vec<String> {
        vec!["even".into(), "odd".into()]
    }

    fn route(&mut self, e: &torvyn::Element<'_>) -> Result<Vec<String>, torvyn::Error> {
        Ok(vec![if e.sequence() % 2 == 0 { "even" } else { "odd" }.into()])
    }
}

torvyn::router!({{Name}});
