//! Denying stubs: a node whose operator chose `ungranted-imports = "deny"`
//! gets every WASI import it is not granted linked to functions that refuse.
//! The component instantiates; each call of a stubbed function is recorded
//! (the grants' audit callback) and traps with `DeniedCall`, which the host
//! reports with its own code. No stub returns data: a stub is never a grant.
//! Which imports are stubbed, and what would grant each, is the host's
//! decision (`tvb_grants.stubbed`).

use wasmtime::component::{Component, Linker, ResourceType, types::ComponentItem};

use crate::node::NodeData;
use crate::wasi::Grants;

/// A guest called a function its node is not granted.
#[derive(Debug)]
pub struct DeniedCall {
    pub function: String,
    pub hint: String,
}

impl std::fmt::Display for DeniedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "called {}, which it is not granted", self.function)?;
        if !self.hint.is_empty() {
            write!(f, " ({})", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for DeniedCall {}

/// The host type of every stubbed resource: nothing ever makes one, since
/// every function that could is a stub.
struct Denied;

/// Defines every function and resource of the imports `grants` stubs. A
/// resource is defined where the component first introduces it; the same
/// resource seen again (a `use` in a later interface) is the same type and
/// needs no definition.
pub fn add_stubs(
    linker: &mut Linker<NodeData>,
    component: &Component,
    grants: &Grants,
) -> wasmtime::Result<()> {
    let engine = component.engine();
    let mut introduced: Vec<ResourceType> = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        let stub = grants.stub_hint(name);
        let mut defined = match stub {
            Some(_) => Some(linker.instance(name)?),
            None => None,
        };
        for (export, item) in instance.exports(engine) {
            match (item.ty, defined.as_mut(), stub) {
                (ComponentItem::Resource(ty), Some(inst), _) if !introduced.contains(&ty) => {
                    introduced.push(ty);
                    inst.resource(export, ResourceType::host::<Denied>(), |_, _| Ok(()))?;
                }
                (ComponentItem::Resource(ty), _, _) => {
                    if !introduced.contains(&ty) {
                        introduced.push(ty);
                    }
                }
                (ComponentItem::ComponentFunc(_), Some(inst), Some(hint)) => {
                    let denied = DeniedCall {
                        function: format!("{name}#{export}"),
                        hint: hint.to_string(),
                    };
                    let audit = grants.audit();
                    inst.func_new(export, move |_, _, _, _| {
                        if let Some(a) = audit {
                            a.deny(&format!("denied call {}", denied.function));
                        }
                        Err(wasmtime::Error::from(DeniedCall {
                            function: denied.function.clone(),
                            hint: denied.hint.clone(),
                        }))
                    })?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}
