//! A processor in Rust: parses a JSON log line, checks it against the
//! schema (every field present, a known level, nothing else) and passes it
//! on in one canonical form. A line that does not fit is refused as
//! invalid input: the node's `on-error` policy decides where it goes.

use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LogLine {
    ts: u64,
    level: Level,
    user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    msg: String,
    latency_ms: u64,
}

struct Parse;

impl torvyn::Processor for Parse {
    fn init(_config: &str) -> Result<Self, torvyn::Error> {
        Ok(Parse)
    }

    fn process(&mut self, e: &torvyn::Element<'_>) -> Result<Option<torvyn::Output>, torvyn::Error> {
        let line: LogLine = serde_json::from_slice(&e.read_all()).map_err(|err| {
            torvyn::Error::InvalidInput(format!("line {} is not a log record: {err}", e.sequence()))
        })?;
        let canonical = serde_json::to_vec(&line).map_err(|err| torvyn::Error::Internal(err.to_string()))?;
        torvyn::output(&canonical, "application/json", e).map(Some)
    }
}

torvyn::processor!(Parse);
