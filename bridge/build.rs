// Wasmtime's version is written in one place, Cargo.lock; tvb_wasmtime_version
// reports it. (The contract versions the bridge speaks are those of
// wit/bridge.wit's world.)
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
