//! The engine and compiled components: one Wasmtime engine per host runtime,
//! components compiled (or loaded from the host's cache) and inspected, and
//! the project's WIT checked. Every entry point returns a `tvb_error*`.

use std::ffi::{CStr, c_char};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::error::{Failure, fail, guard, tvb_error, tvb_status::*};
use crate::inspect::tvb_pool_use;
use crate::node::{tvb_guest_limits, tvb_host_callbacks};

/// How the host wants its engine.
#[repr(C)]
pub struct tvb_engine_config {
    /// Use the pooling instance allocator (fast instantiation, memory
    /// reserved up front).
    pub pooling: u8,
    /// What the pool holds at once (pooling only): component instances and
    /// what they instantiate (core instances, memories, tables).
    pub pool_instances: u32,
    pub pool: tvb_pool_use,
    /// Upper bound of one linear memory, in bytes.
    pub max_memory_bytes: u64,
    /// Compile with Cranelift's speed optimisations (1) or none (0).
    pub optimize: u8,
    /// Meter fuel (costs on every instruction of every instance).
    pub fuel: u8,
    pub limits: tvb_guest_limits,
}

/// The engine, with what every store made from it needs. Shareable across
/// threads; Wasmtime objects made from it keep what they need alive.
pub struct tvb_engine {
    pub(crate) engine: Engine,
    pub(crate) callbacks: tvb_host_callbacks,
    pub(crate) max_memory_bytes: u64,
    pub(crate) fuel: bool,
    pub(crate) limits: tvb_guest_limits,
    // Ticks so far, advanced with the engine's epoch: calls measure their
    // deadline against it.
    pub(crate) epoch: Arc<AtomicU64>,
}

/// A compiled component; immutable, shareable across threads.
pub struct tvb_component {
    pub(crate) component: Component,
}

fn put<T>(value: T, out: *mut *mut T) -> Result<(), Failure> {
    unsafe { *out = Box::into_raw(Box::new(value)) };
    Ok(())
}

fn path_arg(path: *const c_char) -> Result<String, Failure> {
    if path.is_null() {
        return Err(fail(TVB_INVALID_ARGUMENT, "null path"));
    }
    Ok(unsafe { CStr::from_ptr(path) }
        .to_string_lossy()
        .into_owned())
}

/// The Wasmtime version the bridge was built with (from Cargo.lock).
#[unsafe(no_mangle)]
pub extern "C" fn tvb_wasmtime_version() -> *const c_char {
    static VERSION: &str = concat!(env!("TORVYN_WASMTIME_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_engine_new(
    config: *const tvb_engine_config,
    callbacks: *const tvb_host_callbacks,
    out: *mut *mut tvb_engine,
) -> *mut tvb_error {
    guard(|| {
        if config.is_null() || callbacks.is_null() || out.is_null() {
            return Err(fail(TVB_INVALID_ARGUMENT, "tvb_engine_new: null argument"));
        }
        let (cfg, callbacks) = unsafe { (&*config, *callbacks) };
        let mut c = Config::new();
        c.wasm_component_model(true);
        // Synchronous calls only: the async machinery costs on every call.
        c.concurrency_support(false);
        c.epoch_interruption(true);
        // Fuel metering costs on every instruction: only when asked for.
        c.consume_fuel(cfg.fuel != 0);
        c.cranelift_opt_level(if cfg.optimize != 0 {
            OptLevel::Speed
        } else {
            OptLevel::None
        });
        if cfg.pooling != 0 {
            let mut pool = PoolingAllocationConfig::default();
            let instances = cfg.pool_instances.max(1);
            pool.total_component_instances(instances);
            pool.total_core_instances(cfg.pool.core_instances.max(1));
            pool.total_memories(cfg.pool.memories.max(1));
            pool.total_tables(cfg.pool.tables.max(1));
            pool.total_stacks(instances);
            pool.max_memory_size(cfg.max_memory_bytes as usize);
            c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&c)
            .map_err(|e| fail(TVB_INTERNAL, format!("cannot create engine: {e:#}")))?;
        put(
            tvb_engine {
                engine,
                callbacks,
                max_memory_bytes: cfg.max_memory_bytes,
                fuel: cfg.fuel != 0,
                limits: cfg.limits,
                epoch: Arc::new(AtomicU64::new(0)),
            },
            out,
        )
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_engine_free(engine: *mut tvb_engine) {
    if !engine.is_null() {
        drop(unsafe { Box::from_raw(engine) });
    }
}

/// Advances the epoch; safe from any thread. Deadlines count these ticks
/// (call deadlines assume one tick per millisecond).
#[unsafe(no_mangle)]
pub extern "C" fn tvb_engine_increment_epoch(engine: *const tvb_engine) {
    if let Some(e) = unsafe { engine.as_ref() } {
        e.epoch.fetch_add(1, Ordering::Relaxed);
        e.engine.increment_epoch();
    }
}

/// Changes whenever compiled artifacts of one engine are unusable by another.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_engine_compatibility_hash(engine: *const tvb_engine) -> u64 {
    use std::hash::{Hash, Hasher};
    let Some(e) = (unsafe { engine.as_ref() }) else {
        return 0;
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    e.engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_compile(
    engine: *const tvb_engine,
    bytes: *const u8,
    len: usize,
    out: *mut *mut tvb_component,
) -> *mut tvb_error {
    guard(|| {
        let Some(e) = (unsafe { engine.as_ref() }) else {
            return Err(fail(TVB_INVALID_ARGUMENT, "null engine"));
        };
        if bytes.is_null() || out.is_null() {
            return Err(fail(TVB_INVALID_ARGUMENT, "null argument"));
        }
        let data = unsafe { std::slice::from_raw_parts(bytes, len) };
        let component = Component::new(&e.engine, data)
            .map_err(|err| fail(TVB_COMPILE_ERROR, format!("{err:#}")))?;
        put(tvb_component { component }, out)
    })
}

/// Serialized native code; free with tvb_bytes_free.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_serialize(
    component: *const tvb_component,
    data: *mut *mut u8,
    len: *mut usize,
) -> *mut tvb_error {
    guard(|| {
        let Some(c) = (unsafe { component.as_ref() }) else {
            return Err(fail(TVB_INVALID_ARGUMENT, "null component"));
        };
        let bytes = c
            .component
            .serialize()
            .map_err(|err| fail(TVB_INTERNAL, format!("{err:#}")))?;
        let boxed = bytes.into_boxed_slice();
        unsafe {
            *len = boxed.len();
            *data = Box::into_raw(boxed) as *mut u8;
        }
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_bytes_free(data: *mut u8, len: usize) {
    if !data.is_null() {
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) });
    }
}

/// Loads a file written from tvb_component_serialize by a compatible engine.
/// Trusts the file: only pass files the host itself wrote.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_deserialize_file(
    engine: *const tvb_engine,
    path: *const c_char,
    out: *mut *mut tvb_component,
) -> *mut tvb_error {
    guard(|| {
        let Some(e) = (unsafe { engine.as_ref() }) else {
            return Err(fail(TVB_INVALID_ARGUMENT, "null engine"));
        };
        let path = path_arg(path)?;
        if out.is_null() {
            return Err(fail(TVB_INVALID_ARGUMENT, "null out"));
        }
        // Safety: the host only passes artifacts it wrote itself into its
        // private cache, keyed by this engine's compatibility hash.
        let component = unsafe { Component::deserialize_file(&e.engine, &path) }
            .map_err(|err| fail(TVB_COMPILE_ERROR, format!("{path}: {err:#}")))?;
        put(tvb_component { component }, out)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_free(component: *mut tvb_component) {
    if !component.is_null() {
        drop(unsafe { Box::from_raw(component) });
    }
}

/// Parses the WIT package in `dir` (with its `deps/`). On failure the
/// message names the file, line and column ("--> file:line:col").
#[unsafe(no_mangle)]
pub extern "C" fn tvb_wit_check(dir: *const c_char) -> *mut tvb_error {
    guard(|| {
        let path = path_arg(dir)?;
        let mut resolve = wit_parser::Resolve::default();
        resolve
            .push_path(&path)
            .map(|_| ())
            .map_err(|err| fail(TVB_INVALID_ARGUMENT, resolve.render_error(&err)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{tvb_error_free, tvb_error_message, tvb_error_status};

    fn message(e: *mut tvb_error) -> String {
        let (mut data, mut len) = (std::ptr::null(), 0usize);
        tvb_error_message(e, &mut data, &mut len);
        let bytes = unsafe { std::slice::from_raw_parts(data, len) };
        String::from_utf8_lossy(bytes).into_owned()
    }

    fn wit_dir(relative: &str) -> std::ffi::CString {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        std::ffi::CString::new(dir.to_str().unwrap()).unwrap()
    }

    #[test]
    fn the_projects_wit_parses_and_a_broken_one_names_its_line() {
        assert!(tvb_wit_check(wit_dir("../wit").as_ptr()).is_null());
        let e = tvb_wit_check(wit_dir("../tests/wit-bad").as_ptr());
        assert_eq!(tvb_error_status(e), TVB_INVALID_ARGUMENT);
        let text = message(e);
        assert!(text.contains("broken.wit:5:"), "{text}");
        tvb_error_free(e);
    }

    #[test]
    fn null_arguments_are_refused_not_dereferenced() {
        let mut engine = std::ptr::null_mut();
        let e = tvb_engine_new(std::ptr::null(), std::ptr::null(), &mut engine);
        assert_eq!(tvb_error_status(e), TVB_INVALID_ARGUMENT);
        assert!(engine.is_null());
        tvb_error_free(e);
        let e = tvb_wit_check(std::ptr::null());
        assert_eq!(tvb_error_status(e), TVB_INVALID_ARGUMENT);
        tvb_error_free(e);
        let mut out = std::ptr::null_mut();
        let e = tvb_component_compile(std::ptr::null(), std::ptr::null(), 0, &mut out);
        assert_eq!(tvb_error_status(e), TVB_INVALID_ARGUMENT);
        tvb_error_free(e);
    }
}
