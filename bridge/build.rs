// Versions written in one place each: Wasmtime's in Cargo.lock
// (tvb_wasmtime_version reports it), the streaming contract's in the package
// line of wit/types.wit (the interfaces the bridge links are named with it).
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

    println!("cargo:rerun-if-changed=../wit/types.wit");
    let types = std::fs::read_to_string("../wit/types.wit").expect("wit/types.wit");
    let contract = types
        .lines()
        .find_map(|l| l.strip_prefix("package torvyn:streaming@"))
        .map(|v| v.trim_end_matches(';').trim().to_string())
        .expect("a 'package torvyn:streaming@<version>;' line in wit/types.wit");
    println!("cargo:rustc-env=TORVYN_CONTRACT_VERSION={contract}");
}
