//! What a component file says about itself, read from its bytes before
//! anything is compiled: its top-level imports and exports, the language it
//! was written in, and what one instance of it takes from the engine's
//! instance pool. Compiling a language runtime (Python, JavaScript) takes
//! seconds; this takes a few milliseconds, so a component is refused for an
//! import, and the pool sized, before any compiling.

use std::ffi::{CStr, c_char};

use wasmparser::{
    CanonicalFunction, ComponentAlias, ComponentExternalKind, ComponentInstance,
    ComponentOuterAliasKind, ComponentTypeRef, ExternalKind, Instance, KnownCustom, Name, Parser,
    Payload,
};

use crate::error::{fail, guard, tvb_error, tvb_status::*};

/// What one instance of a component takes from the instance pool: the core
/// instances, memories and tables it instantiates, as Wasmtime counts them.
/// Exact for components as wit-component, componentize-py and
/// componentize-js make them; in a composition of components that call each
/// other, Wasmtime adds core instances of its own (fused adapters) that are
/// not counted here: a pool still too small is the host's E0403.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct tvb_pool_use {
    pub core_instances: u32,
    pub memories: u32,
    pub tables: u32,
}

impl tvb_pool_use {
    fn add(&mut self, other: tvb_pool_use) {
        self.core_instances = self.core_instances.saturating_add(other.core_instances);
        self.memories = self.memories.saturating_add(other.memories);
        self.tables = self.tables.saturating_add(other.tables);
    }
}

/// Whether a name is one of a component's imports or its exports.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum tvb_interface_kind {
    TVB_IMPORT = 0,
    TVB_EXPORT = 1,
}

/// A core module: what instantiating it costs, and what its producers
/// section and name say about where it comes from.
#[derive(Clone, Default)]
struct ModuleFacts {
    cost: tvb_pool_use,
    languages: Vec<String>,
    tools: Vec<String>,
    name: String,
}

/// One component being read (the outermost or a nested one): its index
/// spaces, as far as they matter here.
#[derive(Default)]
struct ComponentFrame {
    modules: Vec<ModuleFacts>,
    components: Vec<tvb_pool_use>,
    core_instances: Vec<Option<u32>>, // the module each instantiates
    core_funcs: Vec<Option<u32>>,     // the core instance each comes from
    cost: tvb_pool_use,
    lifted_from: Option<u32>, // the core instance of the first lifted function
    languages: Vec<String>,
    tools: Vec<String>,
}

enum Frame {
    Module(ModuleFacts),
    Component(ComponentFrame),
}

/// Everything read from a component file.
#[derive(Default)]
pub struct Facts {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub language: Option<Lang>,
    pub pool: tvb_pool_use,
}

fn producers(reader: wasmparser::ProducersSectionReader<'_>) -> (Vec<String>, Vec<String>) {
    let (mut languages, mut tools) = (Vec::new(), Vec::new());
    for field in reader.into_iter().flatten() {
        let into = match field.name {
            "language" => &mut languages,
            "processed-by" | "sdk" => &mut tools,
            _ => continue,
        };
        for value in field.values.into_iter().flatten() {
            into.push(value.name.to_string());
        }
    }
    (languages, tools)
}

/// Reads `bytes` as a component. Fails on bytes that are not one.
pub fn inspect(bytes: &[u8]) -> Result<Facts, String> {
    let mut facts = Facts::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new(0);
    let mut parsers: Vec<Parser> = Vec::new();
    let mut data = bytes;
    let mut all_modules: Vec<ModuleFacts> = Vec::new();
    loop {
        let (payload, consumed) = match parser.parse(data, true).map_err(|e| e.to_string())? {
            wasmparser::Chunk::Parsed { payload, consumed } => (payload, consumed),
            wasmparser::Chunk::NeedMoreData(_) => return Err("truncated component".into()),
        };
        data = &data[consumed..];
        let depth = stack.len();
        match payload {
            Payload::Version { encoding, .. } => {
                let is_component = encoding == wasmparser::Encoding::Component;
                if stack.is_empty() && !is_component {
                    return Err("a core WebAssembly module, not a component".into());
                }
                stack.push(if is_component {
                    Frame::Component(ComponentFrame::default())
                } else {
                    Frame::Module(ModuleFacts {
                        cost: tvb_pool_use {
                            core_instances: 1,
                            ..Default::default()
                        },
                        ..Default::default()
                    })
                });
            }
            Payload::ModuleSection { parser: inner, .. }
            | Payload::ComponentSection { parser: inner, .. } => {
                parsers.push(std::mem::replace(&mut parser, inner));
            }
            // Code and data are most of a file and say nothing needed here.
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                data = &data[size as usize..];
            }
            Payload::MemorySection(r) => {
                if let Some(Frame::Module(m)) = stack.last_mut() {
                    m.cost.memories += r.count();
                }
            }
            Payload::TableSection(r) => {
                if let Some(Frame::Module(m)) = stack.last_mut() {
                    m.cost.tables += r.count();
                }
            }
            Payload::CustomSection(c) => match (c.as_known(), stack.last_mut()) {
                (KnownCustom::Producers(r), Some(Frame::Module(m))) => {
                    (m.languages, m.tools) = producers(r);
                }
                (KnownCustom::Producers(r), Some(Frame::Component(f))) => {
                    (f.languages, f.tools) = producers(r);
                }
                (KnownCustom::Name(r), Some(Frame::Module(m))) => {
                    for name in r.into_iter().flatten() {
                        if let Name::Module { name, .. } = name {
                            m.name = name.to_string();
                        }
                    }
                }
                _ => {}
            },
            Payload::ComponentImportSection(r) => {
                let Some(Frame::Component(f)) = stack.last_mut() else {
                    continue;
                };
                for import in r {
                    let import = import.map_err(|e| e.to_string())?;
                    match import.ty {
                        ComponentTypeRef::Module(_) => f.modules.push(unknown_module()),
                        ComponentTypeRef::Component(_) => f.components.push(Default::default()),
                        _ => {}
                    }
                    if depth == 1 {
                        facts.imports.push(import.name.name.to_string());
                    }
                }
            }
            Payload::ComponentExportSection(r) => {
                let Some(Frame::Component(f)) = stack.last_mut() else {
                    continue;
                };
                for export in r {
                    let export = export.map_err(|e| e.to_string())?;
                    let index = export.index as usize;
                    match export.kind {
                        // An export is a new index in its space.
                        ComponentExternalKind::Module => {
                            let m = f.modules.get(index).cloned().unwrap_or_else(unknown_module);
                            f.modules.push(m);
                        }
                        ComponentExternalKind::Component => {
                            let c = f.components.get(index).copied().unwrap_or_default();
                            f.components.push(c);
                        }
                        ComponentExternalKind::Instance | ComponentExternalKind::Func
                            if depth == 1 =>
                        {
                            facts.exports.push(export.name.name.to_string());
                        }
                        _ => {}
                    }
                }
            }
            Payload::InstanceSection(r) => {
                let Some(Frame::Component(f)) = stack.last_mut() else {
                    continue;
                };
                for instance in r {
                    match instance.map_err(|e| e.to_string())? {
                        Instance::Instantiate { module_index, .. } => {
                            let cost = f
                                .modules
                                .get(module_index as usize)
                                .map_or(unknown_module().cost, |m| m.cost);
                            f.cost.add(cost);
                            f.core_instances.push(Some(module_index));
                        }
                        Instance::FromExports(_) => f.core_instances.push(None),
                    }
                }
            }
            Payload::ComponentInstanceSection(r) => {
                let Some(Frame::Component(f)) = stack.last_mut() else {
                    continue;
                };
                for instance in r {
                    if let ComponentInstance::Instantiate {
                        component_index, ..
                    } = instance.map_err(|e| e.to_string())?
                    {
                        let cost = f
                            .components
                            .get(component_index as usize)
                            .copied()
                            .unwrap_or_default();
                        f.cost.add(cost);
                    }
                }
            }
            Payload::ComponentAliasSection(r) => {
                for alias in r {
                    let alias = alias.map_err(|e| e.to_string())?;
                    let outer = |count: u32| depth.checked_sub(1 + count as usize);
                    let pushed: Option<Result<ModuleFacts, tvb_pool_use>> = match alias {
                        ComponentAlias::Outer {
                            kind: ComponentOuterAliasKind::CoreModule,
                            count,
                            index,
                        } => Some(Ok(match outer(count).map(|d| &stack[d]) {
                            Some(Frame::Component(o)) => o
                                .modules
                                .get(index as usize)
                                .cloned()
                                .unwrap_or_else(unknown_module),
                            _ => unknown_module(),
                        })),
                        ComponentAlias::Outer {
                            kind: ComponentOuterAliasKind::Component,
                            count,
                            index,
                        } => Some(Err(match outer(count).map(|d| &stack[d]) {
                            Some(Frame::Component(o)) => o
                                .components
                                .get(index as usize)
                                .copied()
                                .unwrap_or_default(),
                            _ => Default::default(),
                        })),
                        ComponentAlias::InstanceExport {
                            kind: ComponentExternalKind::Module,
                            ..
                        } => Some(Ok(unknown_module())),
                        ComponentAlias::InstanceExport {
                            kind: ComponentExternalKind::Component,
                            ..
                        } => Some(Err(Default::default())),
                        _ => None,
                    };
                    let Some(Frame::Component(f)) = stack.last_mut() else {
                        continue;
                    };
                    match (pushed, alias) {
                        (Some(Ok(m)), _) => f.modules.push(m),
                        (Some(Err(c)), _) => f.components.push(c),
                        (
                            None,
                            ComponentAlias::CoreInstanceExport {
                                kind: ExternalKind::Func,
                                instance_index,
                                ..
                            },
                        ) => f.core_funcs.push(Some(instance_index)),
                        _ => {}
                    }
                }
            }
            Payload::ComponentCanonicalSection(r) => {
                let Some(Frame::Component(f)) = stack.last_mut() else {
                    continue;
                };
                for canon in r {
                    match canon.map_err(|e| e.to_string())? {
                        CanonicalFunction::Lift {
                            core_func_index, ..
                        } => {
                            if f.lifted_from.is_none() {
                                f.lifted_from = f
                                    .core_funcs
                                    .get(core_func_index as usize)
                                    .copied()
                                    .flatten();
                            }
                        }
                        // Every other canonical function is a core function.
                        _ => f.core_funcs.push(None),
                    }
                }
            }
            Payload::End(_) => {
                let done = stack.pop().ok_or("unbalanced component")?;
                match (done, stack.last_mut()) {
                    (Frame::Module(m), Some(Frame::Component(parent))) => {
                        all_modules.push(m.clone());
                        parent.modules.push(m);
                    }
                    (Frame::Component(c), Some(Frame::Component(parent))) => {
                        parent.components.push(c.cost);
                    }
                    (Frame::Component(top), None) => {
                        facts.pool = top.cost;
                        let main = top
                            .lifted_from
                            .and_then(|i| top.core_instances.get(i as usize).copied().flatten())
                            .and_then(|m| top.modules.get(m as usize));
                        facts.language = language(&top, main, &all_modules);
                        return Ok(facts);
                    }
                    _ => return Err("a module nested in a module".into()),
                }
                parser = parsers.pop().unwrap_or_default();
            }
            _ => {}
        }
    }
}

fn unknown_module() -> ModuleFacts {
    ModuleFacts {
        cost: tvb_pool_use {
            core_instances: 1,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Languages as the run summary names them, most specific first: a module
/// that lists several (a JavaScript engine is C, C++ and Rust; Rust's std
/// links C) is the one listed earliest here.
type Lang = &'static CStr;
const LANGUAGES: &[(&str, Lang)] = &[
    ("JavaScript", c"JavaScript"),
    ("Python", c"Python"),
    ("Go", c"Go"),
    ("Rust", c"Rust"),
    ("C_plus_plus", c"C++"),
    ("C", c"C"),
];
// Languages that bring their own runtime: a tool that made the whole
// component names them.
const RUNTIME_LANGUAGES: &[Lang] = &[c"JavaScript", c"Python", c"Go"];

/// Tools whose name says the language of what they produced (the
/// `processed-by` field), and language runtimes recognised by the name of
/// their module.
const TOOLS: &[(&str, Lang)] = &[
    ("ComponentizeJS", c"JavaScript"),
    ("componentize-py", c"Python"),
    ("TinyGo", c"Go"),
    ("wit-bindgen-go", c"Go"),
    ("wit-bindgen-rust", c"Rust"),
    ("rustc", c"Rust"),
    ("wit-bindgen-c", c"C"),
    ("clang", c"C"),
];
const RUNTIME_MODULES: &[(&str, Lang)] =
    &[("libpython", c"Python"), ("componentize_py", c"Python")];

/// A `language` value ("C11", "C_plus_plus_17", "Rust") as the summary says it.
fn language_name(value: &str) -> Option<Lang> {
    LANGUAGES.iter().find_map(|(prefix, name)| {
        let rest = value.strip_prefix(prefix)?;
        // "C" must not match "Cobol": only digits or a suffix after "_" follow.
        (rest.is_empty() || rest.starts_with('_') || rest.starts_with(|c: char| c.is_ascii_digit()))
            .then_some(*name)
    })
}

fn most_specific(languages: &[String]) -> Option<Lang> {
    let found: Vec<Lang> = languages.iter().filter_map(|l| language_name(l)).collect();
    LANGUAGES
        .iter()
        .map(|(_, name)| *name)
        .find(|name| found.contains(name))
}

fn by_tool(tools: &[String]) -> Option<Lang> {
    TOOLS
        .iter()
        .find(|(tool, _)| tools.iter().any(|t| t == tool))
        .map(|(_, name)| *name)
}

/// The component's language: what the component itself declares, then a
/// language runtime it carries, then what the module implementing its
/// exports declares or was made by. The WASI adapter (a Rust module) and
/// wit-component's shims are never the main module.
fn language(
    top: &ComponentFrame,
    main: Option<&ModuleFacts>,
    modules: &[ModuleFacts],
) -> Option<Lang> {
    most_specific(&top.languages)
        .or_else(|| by_tool(&top.tools).filter(|l| RUNTIME_LANGUAGES.contains(l)))
        .or_else(|| {
            modules.iter().find_map(|m| {
                RUNTIME_MODULES
                    .iter()
                    .find(|(prefix, _)| m.name.starts_with(prefix))
                    .map(|(_, name)| *name)
            })
        })
        .or_else(|| main.and_then(|m| most_specific(&m.languages).or_else(|| by_tool(&m.tools))))
}

/// Reads the component in `bytes[..len]`: calls `each` with the name of
/// every top-level import and export (instances and functions, e.g.
/// "torvyn:streaming/types@0.2.0"), and fills `pool` with what one instance
/// takes from the instance pool and `language` with a static string naming
/// its language ("C", "C++", "Rust", "Python", "JavaScript", "Go") or null.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_component_inspect(
    bytes: *const u8,
    len: usize,
    user: *mut std::ffi::c_void,
    each: extern "C" fn(
        user: *mut std::ffi::c_void,
        kind: tvb_interface_kind,
        name: *const u8,
        len: usize,
    ),
    pool: *mut tvb_pool_use,
    language: *mut *const c_char,
) -> *mut tvb_error {
    guard(|| {
        if bytes.is_null() || pool.is_null() || language.is_null() {
            return Err(fail(TVB_INVALID_ARGUMENT, "null argument"));
        }
        let data = unsafe { std::slice::from_raw_parts(bytes, len) };
        let facts = inspect(data).map_err(|e| fail(TVB_COMPILE_ERROR, e))?;
        for (kind, names) in [
            (tvb_interface_kind::TVB_IMPORT, &facts.imports),
            (tvb_interface_kind::TVB_EXPORT, &facts.exports),
        ] {
            for n in names {
                each(user, kind, n.as_ptr(), n.len());
            }
        }
        unsafe {
            *pool = facts.pool;
            *language = facts.language.map_or(std::ptr::null(), CStr::as_ptr);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_values_map_to_names() {
        assert_eq!(language_name("C11"), Some(c"C"));
        assert_eq!(language_name("C_plus_plus_14"), Some(c"C++"));
        assert_eq!(language_name("Rust"), Some(c"Rust"));
        assert_eq!(language_name("Cobol"), None);
        let js_engine = ["C11".to_string(), "Rust".into(), "C_plus_plus_14".into()];
        assert_eq!(most_specific(&js_engine), Some(c"Rust"));
    }

    #[test]
    fn a_core_module_or_garbage_is_refused() {
        assert!(inspect(b"\0asm\x01\0\0\0").is_err());
        assert!(inspect(b"not wasm").is_err());
    }
}
