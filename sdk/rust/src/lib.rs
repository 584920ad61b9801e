//! Torvyn components in Rust: implement the trait of your component's role
//! and name your type in the role's macro; the crate makes the exports of the
//! `torvyn:streaming` contract from it. Enable the role's feature (one per
//! component) and build for `wasm32-unknown-unknown`: a component then
//! imports nothing but the Torvyn interfaces (no WASI), so it links
//! deny-all. `torvyn_add_rust_component` in the SDK's CMake does the build.
//! A source also exports its batch form (`pull-batch`, world
//! `data-source-batched`), made from `pull`. Processors, sinks and filters
//! are called per element: wit-bindgen 0.63's Rust generator cannot compile
//! an export taking `list<batch-element>` (records holding a
//! `borrow<buffer>`: E0506 in its generated lifting code).
//!
//! ```ignore
//! struct Shout;
//! impl torvyn::Processor for Shout {
//!     fn init(_config: &str) -> Result<Self, torvyn::Error> { Ok(Shout) }
//!     fn process(&mut self, e: &torvyn::Element) -> Result<Option<torvyn::Output>, torvyn::Error> {
//!         let text = e.read_all().to_ascii_uppercase();
//!         torvyn::output(&text, "text/plain", e).map(Some)
//!     }
//! }
//! torvyn::processor!(Shout);
//! ```

#[cfg(feature = "source")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({ world: "data-source-batched", path: "../../wit",
        pub_export_macro: true, export_macro_name: "export_bindings",
        default_bindings_module: "torvyn::bindings" });
}
#[cfg(feature = "processor")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({ world: "data-processor", path: "../../wit",
        pub_export_macro: true, export_macro_name: "export_bindings",
        default_bindings_module: "torvyn::bindings" });
}
#[cfg(feature = "sink")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({ world: "data-sink", path: "../../wit",
        pub_export_macro: true, export_macro_name: "export_bindings",
        default_bindings_module: "torvyn::bindings" });
}
#[cfg(feature = "filter")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({ world: "data-filter", path: "../../wit",
        pub_export_macro: true, export_macro_name: "export_bindings",
        default_bindings_module: "torvyn::bindings" });
}

#[cfg(feature = "router")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({ world: "data-router", path: "../../wit",
        pub_export_macro: true, export_macro_name: "export_bindings",
        default_bindings_module: "torvyn::bindings" });
}
#[cfg(feature = "aggregator")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({ world: "data-aggregator", path: "../../wit",
        pub_export_macro: true, export_macro_name: "export_bindings",
        default_bindings_module: "torvyn::bindings" });
}

mod element;
pub use element::*;
#[cfg(feature = "source")]
#[doc(hidden)]
pub mod batch;
mod roles;
pub use roles::*;
