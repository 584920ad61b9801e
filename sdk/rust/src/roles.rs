//! One trait per role, and the macro that exports a type implementing it.
//! The component's state is the value `init` returns; the host calls one
//! export at a time, so the macros keep it in a plain cell.

use crate::{Element, Error, Output};

/// What a source answers when asked for an element.
pub enum Pulled {
    /// A new element.
    Element(Output),
    /// Nothing yet: ask again in about this many nanoseconds (0: the host
    /// decides). The host waits; it does not spin.
    Pending(u64),
    /// No more elements, ever.
    Exhausted,
}

/// A source: makes elements.
pub trait Source: Sized {
    fn init(config: &str) -> Result<Self, Error>;
    fn pull(&mut self) -> Result<Pulled, Error>;
    /// The flow asks the source to pause (true) or go on (false).
    fn notify(&mut self, _pause: bool) {}
}

/// A processor: one element in, one (or none: dropped) out.
pub trait Processor: Sized {
    fn init(config: &str) -> Result<Self, Error>;
    fn process(&mut self, element: &Element<'_>) -> Result<Option<Output>, Error>;
}

/// A sink: takes elements; true asks the flow to pause a while.
pub trait Sink: Sized {
    fn init(config: &str) -> Result<Self, Error>;
    fn push(&mut self, element: &Element<'_>) -> Result<bool, Error>;
    /// Every element has been pushed.
    fn complete(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// A filter: keeps (true) or rejects each element, without copying it.
pub trait Filter: Sized {
    fn init(config: &str) -> Result<Self, Error>;
    fn accept(&mut self, element: &Element<'_>) -> Result<bool, Error>;
}

/// A router: names the output ports of each element (none: filtered).
pub trait Router: Sized {
    fn init(config: &str) -> Result<Self, Error>;
    /// The ports it may name, checked against the manifest's edges.
    fn ports(&self) -> Vec<String>;
    fn route(&mut self, element: &Element<'_>) -> Result<Vec<String>, Error>;
}

/// An aggregator: absorbs elements, may emit one per element, and emits the
/// rest when its input ends.
pub trait Aggregator: Sized {
    fn init(config: &str) -> Result<Self, Error>;
    fn ingest(&mut self, element: &Element<'_>) -> Result<Option<Output>, Error>;
    fn flush(&mut self) -> Result<Vec<Output>, Error>;
}

#[doc(hidden)]
pub mod detail {
    use core::cell::RefCell;

    /// The component's one instance (wasm guests are single-threaded).
    pub struct Instance<T>(pub RefCell<Option<T>>);
    // SAFETY: a component instance is only ever called from one thread.
    unsafe impl<T> Sync for Instance<T> {}

    impl<T> Instance<T> {
        pub const fn new() -> Self {
            Instance(RefCell::new(None))
        }
        pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
            self.0.borrow_mut().as_mut().map(f)
        }
    }

    pub fn not_initialised() -> crate::bindings::torvyn::streaming::types::ProcessError {
        crate::bindings::torvyn::streaming::types::ProcessError::Fatal(
            "called before init".to_string(),
        )
    }
}

#[doc(hidden)]
#[macro_export]
macro_rules! __torvyn_lifecycle {
    ($t:ty, $guest:ident, $role:path) => {
        static __TORVYN_INSTANCE: $crate::detail::Instance<$t> = $crate::detail::Instance::new();
        impl $crate::bindings::exports::torvyn::streaming::lifecycle::Guest for $guest {
            fn init(
                config: String,
            ) -> Result<(), $crate::bindings::torvyn::streaming::types::ProcessError> {
                let value = <$t as $role>::init(&config)?;
                *__TORVYN_INSTANCE.0.borrow_mut() = Some(value);
                Ok(())
            }
            fn teardown() {
                __TORVYN_INSTANCE.0.borrow_mut().take();
            }
        }
    };
}

/// Exports a [`Processor`] (feature `processor`).
#[cfg(feature = "processor")]
#[macro_export]
macro_rules! processor {
    ($t:ty) => {
        struct __TorvynGuest;
        $crate::__torvyn_lifecycle!($t, __TorvynGuest, $crate::Processor);
        impl $crate::bindings::exports::torvyn::streaming::processor::Guest for __TorvynGuest {
            fn process(
                element: $crate::bindings::torvyn::streaming::types::StreamElement,
            ) -> Result<
                $crate::bindings::exports::torvyn::streaming::processor::ProcessResult,
                $crate::bindings::torvyn::streaming::types::ProcessError,
            > {
                use $crate::bindings::exports::torvyn::streaming::processor::ProcessResult;
                let view = $crate::Element::lent(&element);
                match __TORVYN_INSTANCE.with(|c| $crate::Processor::process(c, &view)) {
                    None => Err($crate::detail::not_initialised()),
                    Some(Ok(Some(out))) => Ok(ProcessResult::Emit(out.into_inner()?)),
                    Some(Ok(None)) => Ok(ProcessResult::Drop),
                    Some(Err(e)) => Err(e.into()),
                }
            }
        }
        $crate::bindings::export_bindings!(__TorvynGuest with_types_in $crate::bindings);
    };
}

/// Exports a [`Source`] (feature `source`).
#[cfg(feature = "source")]
#[macro_export]
macro_rules! source {
    ($t:ty) => {
        struct __TorvynGuest;
        $crate::__torvyn_lifecycle!($t, __TorvynGuest, $crate::Source);
        impl $crate::bindings::exports::torvyn::streaming::source::Guest for __TorvynGuest {
            fn pull() -> Result<
                $crate::bindings::exports::torvyn::streaming::source::Pulled,
                $crate::bindings::torvyn::streaming::types::ProcessError,
            > {
                use $crate::bindings::exports::torvyn::streaming::source::Pulled as P;
                match __TORVYN_INSTANCE.with(|c| $crate::Source::pull(c)) {
                    None => Err($crate::detail::not_initialised()),
                    Some(Ok($crate::Pulled::Element(out))) => Ok(P::Element(out.into_inner()?)),
                    Some(Ok($crate::Pulled::Pending(ns))) => Ok(P::Pending(ns)),
                    Some(Ok($crate::Pulled::Exhausted)) => Ok(P::Exhausted),
                    Some(Err(e)) => Err(e.into()),
                }
            }
            fn notify(signal: $crate::bindings::torvyn::streaming::types::BackpressureSignal) {
                use $crate::bindings::torvyn::streaming::types::BackpressureSignal;
                let pause = matches!(signal, BackpressureSignal::Pause);
                __TORVYN_INSTANCE.with(|c| $crate::Source::notify(c, pause));
            }
        }
        impl $crate::bindings::exports::torvyn::streaming::batch_source::Guest for __TorvynGuest {
            fn pull_batch(
                max: u32,
            ) -> Result<
                $crate::bindings::exports::torvyn::streaming::batch_source::PulledBatch,
                $crate::bindings::torvyn::streaming::types::ProcessError,
            > {
                $crate::batch::pull_batch(&__TORVYN_INSTANCE, max)
            }
        }
        $crate::bindings::export_bindings!(__TorvynGuest with_types_in $crate::bindings);
    };
}

/// Exports a [`Sink`] (feature `sink`).
#[cfg(feature = "sink")]
#[macro_export]
macro_rules! sink {
    ($t:ty) => {
        struct __TorvynGuest;
        $crate::__torvyn_lifecycle!($t, __TorvynGuest, $crate::Sink);
        impl $crate::bindings::exports::torvyn::streaming::sink::Guest for __TorvynGuest {
            fn push(
                element: $crate::bindings::torvyn::streaming::types::StreamElement,
            ) -> Result<
                $crate::bindings::torvyn::streaming::types::BackpressureSignal,
                $crate::bindings::torvyn::streaming::types::ProcessError,
            > {
                use $crate::bindings::torvyn::streaming::types::BackpressureSignal;
                let view = $crate::Element::lent(&element);
                match __TORVYN_INSTANCE.with(|c| $crate::Sink::push(c, &view)) {
                    None => Err($crate::detail::not_initialised()),
                    Some(Ok(true)) => Ok(BackpressureSignal::Pause),
                    Some(Ok(false)) => Ok(BackpressureSignal::Ready),
                    Some(Err(e)) => Err(e.into()),
                }
            }
            fn complete() -> Result<(), $crate::bindings::torvyn::streaming::types::ProcessError> {
                match __TORVYN_INSTANCE.with(|c| $crate::Sink::complete(c)) {
                    None => Err($crate::detail::not_initialised()),
                    Some(r) => r.map_err(Into::into),
                }
            }
        }
        $crate::bindings::export_bindings!(__TorvynGuest with_types_in $crate::bindings);
    };
}

/// Exports a [`Filter`] (feature `filter`).
#[cfg(feature = "filter")]
#[macro_export]
macro_rules! filter {
    ($t:ty) => {
        struct __TorvynGuest;
        $crate::__torvyn_lifecycle!($t, __TorvynGuest, $crate::Filter);
        impl $crate::bindings::exports::torvyn::streaming::filter::Guest for __TorvynGuest {
            fn accept(
                element: $crate::bindings::torvyn::streaming::types::StreamElement,
            ) -> Result<bool, $crate::bindings::torvyn::streaming::types::ProcessError> {
                let view = $crate::Element::lent(&element);
                match __TORVYN_INSTANCE.with(|c| $crate::Filter::accept(c, &view)) {
                    None => Err($crate::detail::not_initialised()),
                    Some(r) => r.map_err(Into::into),
                }
            }
        }
        $crate::bindings::export_bindings!(__TorvynGuest with_types_in $crate::bindings);
    };
}

/// Exports a [`Router`] (feature `router`).
#[cfg(feature = "router")]
#[macro_export]
macro_rules! router {
    ($t:ty) => {
        struct __TorvynGuest;
        $crate::__torvyn_lifecycle!($t, __TorvynGuest, $crate::Router);
        impl $crate::bindings::exports::torvyn::streaming::router::Guest for __TorvynGuest {
            fn ports() -> Vec<String> {
                __TORVYN_INSTANCE.with(|c| $crate::Router::ports(c)).unwrap_or_default()
            }
            fn route(
                element: $crate::bindings::torvyn::streaming::types::StreamElement,
            ) -> Result<Vec<String>, $crate::bindings::torvyn::streaming::types::ProcessError> {
                let view = $crate::Element::lent(&element);
                match __TORVYN_INSTANCE.with(|c| $crate::Router::route(c, &view)) {
                    None => Err($crate::detail::not_initialised()),
                    Some(r) => r.map_err(Into::into),
                }
            }
        }
        $crate::bindings::export_bindings!(__TorvynGuest with_types_in $crate::bindings);
    };
}

/// Exports an [`Aggregator`] (feature `aggregator`).
#[cfg(feature = "aggregator")]
#[macro_export]
macro_rules! aggregator {
    ($t:ty) => {
        struct __TorvynGuest;
        $crate::__torvyn_lifecycle!($t, __TorvynGuest, $crate::Aggregator);
        impl $crate::bindings::exports::torvyn::streaming::aggregator::Guest for __TorvynGuest {
            fn ingest(
                element: $crate::bindings::torvyn::streaming::types::StreamElement,
            ) -> Result<
                Option<$crate::bindings::torvyn::streaming::types::OutputElement>,
                $crate::bindings::torvyn::streaming::types::ProcessError,
            > {
                let view = $crate::Element::lent(&element);
                match __TORVYN_INSTANCE.with(|c| $crate::Aggregator::ingest(c, &view)) {
                    None => Err($crate::detail::not_initialised()),
                    Some(Ok(out)) => Ok(out.map($crate::Output::into_inner).transpose()?),
                    Some(Err(e)) => Err(e.into()),
                }
            }
            fn flush() -> Result<
                Vec<$crate::bindings::torvyn::streaming::types::OutputElement>,
                $crate::bindings::torvyn::streaming::types::ProcessError,
            > {
                match __TORVYN_INSTANCE.with(|c| $crate::Aggregator::flush(c)) {
                    None => Err($crate::detail::not_initialised()),
                    Some(Ok(outs)) => Ok(outs
                        .into_iter()
                        .map($crate::Output::into_inner)
                        .collect::<Result<Vec<_>, _>>()?),
                    Some(Err(e)) => Err(e.into()),
                }
            }
        }
        $crate::bindings::export_bindings!(__TorvynGuest with_types_in $crate::bindings);
    };
}
