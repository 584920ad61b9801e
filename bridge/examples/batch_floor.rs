//! A measurement for the design of torvyn:streaming@0.2.0, not part of the
//! bridge: what one typed call that carries a batch of small payloads by
//! value costs per element, with the engine configured as the bridge
//! configures it (component model, synchronous calls, epoch interruption).
//! The component (bench/prototype/batch_nop.c) copies each payload into a
//! new one, the processor's work in the pipeline benchmark.
//!
//!   cargo run --release --example batch_floor -- BATCH_NOP_WASM  ->  JSON lines

use std::time::Instant;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

wasmtime::component::bindgen!({
    path: "../bench/prototype/batch.wit",
    world: "batch-nop",
});

use exports::torvyn::prototype::batch::{FlatBatch, Item};

fn main() -> wasmtime::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: batch_floor BATCH_NOP_WASM");
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.concurrency_support(false);
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let component = Component::from_file(&engine, &path)?;
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(u64::MAX / 2);
    let nop = BatchNop::instantiate(&mut store, &component, &linker)?;
    let batch = nop.torvyn_prototype_batch();

    for size in [64usize, 1024] {
        for n in [1usize, 4, 16, 64, 256] {
            let items: Vec<Item> = (0..n as u64)
                .map(|i| Item {
                    sequence: i,
                    payload: vec![i as u8; size],
                })
                .collect();
            let elements = 400_000usize.max(n);
            let calls = elements / n;
            for _ in 0..calls / 10 + 1 {
                batch.call_process_batch(&mut store, &items)?;
            }
            let t0 = Instant::now();
            let mut out = 0usize;
            for _ in 0..calls {
                out += batch.call_process_batch(&mut store, &items)?.len();
            }
            let ns = t0.elapsed().as_nanos() as f64 / (calls * n) as f64;
            assert_eq!(out, calls * n);
            println!(
                "{{\"bench\":\"batch_items\",\"size\":{size},\"batch\":{n},\"ns_per_element\":{ns:.1}}}"
            );

            let flat = FlatBatch {
                sequences: (0..n as u64).collect(),
                ends: (1..=n as u32).map(|i| i * size as u32).collect(),
                bytes: vec![7u8; n * size],
            };
            for _ in 0..calls / 10 + 1 {
                batch.call_process_flat(&mut store, &flat)?;
            }
            let t0 = Instant::now();
            let mut out = 0usize;
            for _ in 0..calls {
                out += batch.call_process_flat(&mut store, &flat)?.ends.len();
            }
            let ns = t0.elapsed().as_nanos() as f64 / (calls * n) as f64;
            assert_eq!(out, calls * n);
            println!(
                "{{\"bench\":\"batch_flat\",\"size\":{size},\"batch\":{n},\"ns_per_element\":{ns:.1}}}"
            );
        }
    }
    Ok(())
}
