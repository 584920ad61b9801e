// The Wasmtime version the bridge is built with, read from Cargo.lock: the
// one place it is written (tvb_wasmtime_version reports it).
fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").expect("bridge/Cargo.lock");
    let mut lines = lock.lines();
    let mut version = None;
    while let Some(line) = lines.next() {
        if line == "name = \"wasmtime\"" {
            version = lines
                .next()
                .and_then(|v| v.strip_prefix("version = \""))
                .map(|v| v.trim_end_matches('"').to_string());
            break;
        }
    }
    let version = version.expect("wasmtime in bridge/Cargo.lock");
    println!("cargo:rustc-env=TORVYN_WASMTIME_VERSION={version}");
}
