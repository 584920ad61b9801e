//! The hello pipeline's processor in Rust: each greeting upper-cased, with a
//! "!" (the same as shout.cpp).

struct Shout;

impl torvyn::Processor for Shout {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok(Shout)
    }

    fn process(
        &mut self,
        e: &torvyn::Element<'_>,
    ) -> Result<Option<torvyn::Output>, torvyn::Error> {
        let mut text = e.read_all().to_ascii_uppercase();
        text.push(b'!');
        torvyn::output(&text, "text/plain", e).map(Some)
    }
}

torvyn::processor!(Shout);
