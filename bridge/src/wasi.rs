//! WASI, linked one interface at a time.
//!
//! Every interface the host can grant is one row of `INTERFACES`: its id
//! (shared with C++ as `tvb_wasi_interface`), its name, and how to link it.
//! A node's grants are a set of these ids plus the data some of them need
//! (folders, environment values, addresses); the C++ host decides which
//! capability covers which interfaces. A node gets a WASI context only when
//! it holds a grant, and a linker with only the interfaces it was granted: a
//! component importing anything else fails to link.

use std::collections::HashSet;
use std::ffi::{CStr, c_char, c_void};
use std::net::SocketAddr;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings as p2;
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSockets, WasiSocketsView};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::guest_output::GuestOutput;
use crate::node::{NodeData, WasiState, tvb_guest_limits, tvb_host_callbacks, tvb_stream};

/// A WASI 0.2 interface the host can link for a node.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum tvb_wasi_interface {
    TVB_WASI_IO_ERROR = 0,
    TVB_WASI_IO_STREAMS = 1,
    TVB_WASI_IO_POLL = 2,
    TVB_WASI_CLI_STDOUT = 3,
    TVB_WASI_CLI_STDERR = 4,
    TVB_WASI_CLI_STDIN = 5,
    TVB_WASI_CLI_EXIT = 6,
    TVB_WASI_CLI_ENVIRONMENT = 7,
    TVB_WASI_CLI_TERMINAL_INPUT = 8,
    TVB_WASI_CLI_TERMINAL_OUTPUT = 9,
    TVB_WASI_CLI_TERMINAL_STDIN = 10,
    TVB_WASI_CLI_TERMINAL_STDOUT = 11,
    TVB_WASI_CLI_TERMINAL_STDERR = 12,
    TVB_WASI_CLOCKS_WALL_CLOCK = 13,
    TVB_WASI_CLOCKS_MONOTONIC_CLOCK = 14,
    TVB_WASI_RANDOM_RANDOM = 15,
    TVB_WASI_RANDOM_INSECURE = 16,
    TVB_WASI_RANDOM_INSECURE_SEED = 17,
    TVB_WASI_FILESYSTEM_TYPES = 18,
    TVB_WASI_FILESYSTEM_PREOPENS = 19,
    TVB_WASI_SOCKETS_NETWORK = 20,
    TVB_WASI_SOCKETS_INSTANCE_NETWORK = 21,
    TVB_WASI_SOCKETS_TCP = 22,
    TVB_WASI_SOCKETS_TCP_CREATE_SOCKET = 23,
    TVB_WASI_SOCKETS_UDP = 24,
    TVB_WASI_SOCKETS_UDP_CREATE_SOCKET = 25,
}
use tvb_wasi_interface::*;

type L = Linker<NodeData>;

struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

fn cli(t: &mut NodeData) -> wasmtime_wasi::cli::WasiCliCtxView<'_> {
    <NodeData as WasiCliView>::cli(t)
}
fn clocks(t: &mut NodeData) -> wasmtime_wasi::clocks::WasiClocksCtxView<'_> {
    <NodeData as WasiClocksView>::clocks(t)
}
fn random(t: &mut NodeData) -> &mut wasmtime_wasi::random::WasiRandomCtx {
    t.ctx().ctx.random()
}
fn filesystem(t: &mut NodeData) -> wasmtime_wasi::filesystem::WasiFilesystemCtxView<'_> {
    <NodeData as WasiFilesystemView>::filesystem(t)
}
fn sockets(t: &mut NodeData) -> wasmtime_wasi::sockets::WasiSocketsCtxView<'_> {
    <NodeData as WasiSocketsView>::sockets(t)
}

/// One linkable interface: its id, its name (without version) and how to
/// link it. To make a new WASI interface grantable: a row here and an enum
/// value above; then name it in a capability of the C++ table
/// (src/core/capability.cpp).
struct Interface {
    id: tvb_wasi_interface,
    name: &'static CStr,
    link: fn(&mut L) -> wasmtime::Result<()>,
}

const INTERFACES: &[Interface] = &[
    Interface {
        id: TVB_WASI_IO_ERROR,
        name: c"wasi:io/error",
        link: |l| {
            wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<NodeData, HasTable>(
                l,
                |t| t.ctx().table,
            )
        },
    },
    // Every wait in wasi:io is bounded by the call's deadline (bounded_io.rs).
    Interface {
        id: TVB_WASI_IO_STREAMS,
        name: c"wasi:io/streams",
        link: crate::bounded_io::add_streams,
    },
    Interface {
        id: TVB_WASI_IO_POLL,
        name: c"wasi:io/poll",
        link: crate::bounded_io::add_poll,
    },
    Interface {
        id: TVB_WASI_CLI_STDOUT,
        name: c"wasi:cli/stdout",
        link: |l| p2::cli::stdout::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLI_STDERR,
        name: c"wasi:cli/stderr",
        link: |l| p2::cli::stderr::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLI_STDIN,
        name: c"wasi:cli/stdin",
        link: |l| p2::cli::stdin::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLI_EXIT,
        name: c"wasi:cli/exit",
        link: |l| p2::cli::exit::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLI_ENVIRONMENT,
        name: c"wasi:cli/environment",
        link: |l| p2::cli::environment::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLI_TERMINAL_INPUT,
        name: c"wasi:cli/terminal-input",
        link: |l| p2::cli::terminal_input::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLI_TERMINAL_OUTPUT,
        name: c"wasi:cli/terminal-output",
        link: |l| p2::cli::terminal_output::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLI_TERMINAL_STDIN,
        name: c"wasi:cli/terminal-stdin",
        link: |l| p2::cli::terminal_stdin::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLI_TERMINAL_STDOUT,
        name: c"wasi:cli/terminal-stdout",
        link: |l| p2::cli::terminal_stdout::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLI_TERMINAL_STDERR,
        name: c"wasi:cli/terminal-stderr",
        link: |l| p2::cli::terminal_stderr::add_to_linker::<NodeData, WasiCli>(l, cli),
    },
    Interface {
        id: TVB_WASI_CLOCKS_WALL_CLOCK,
        name: c"wasi:clocks/wall-clock",
        link: |l| p2::clocks::wall_clock::add_to_linker::<NodeData, WasiClocks>(l, clocks),
    },
    Interface {
        id: TVB_WASI_CLOCKS_MONOTONIC_CLOCK,
        name: c"wasi:clocks/monotonic-clock",
        link: |l| p2::clocks::monotonic_clock::add_to_linker::<NodeData, WasiClocks>(l, clocks),
    },
    Interface {
        id: TVB_WASI_RANDOM_RANDOM,
        name: c"wasi:random/random",
        link: |l| p2::random::random::add_to_linker::<NodeData, WasiRandom>(l, random),
    },
    Interface {
        id: TVB_WASI_RANDOM_INSECURE,
        name: c"wasi:random/insecure",
        link: |l| p2::random::insecure::add_to_linker::<NodeData, WasiRandom>(l, random),
    },
    Interface {
        id: TVB_WASI_RANDOM_INSECURE_SEED,
        name: c"wasi:random/insecure-seed",
        link: |l| p2::random::insecure_seed::add_to_linker::<NodeData, WasiRandom>(l, random),
    },
    Interface {
        id: TVB_WASI_FILESYSTEM_TYPES,
        name: c"wasi:filesystem/types",
        link: |l| {
            p2::sync::filesystem::types::add_to_linker::<NodeData, WasiFilesystem>(l, filesystem)
        },
    },
    Interface {
        id: TVB_WASI_FILESYSTEM_PREOPENS,
        name: c"wasi:filesystem/preopens",
        link: |l| {
            p2::filesystem::preopens::add_to_linker::<NodeData, WasiFilesystem>(l, filesystem)
        },
    },
    Interface {
        id: TVB_WASI_SOCKETS_NETWORK,
        name: c"wasi:sockets/network",
        link: |l| {
            p2::sockets::network::add_to_linker::<NodeData, WasiSockets>(
                l,
                &Default::default(),
                sockets,
            )
        },
    },
    Interface {
        id: TVB_WASI_SOCKETS_INSTANCE_NETWORK,
        name: c"wasi:sockets/instance-network",
        link: |l| p2::sockets::instance_network::add_to_linker::<NodeData, WasiSockets>(l, sockets),
    },
    Interface {
        id: TVB_WASI_SOCKETS_TCP,
        name: c"wasi:sockets/tcp",
        link: |l| p2::sync::sockets::tcp::add_to_linker::<NodeData, WasiSockets>(l, sockets),
    },
    Interface {
        id: TVB_WASI_SOCKETS_TCP_CREATE_SOCKET,
        name: c"wasi:sockets/tcp-create-socket",
        link: |l| {
            p2::sockets::tcp_create_socket::add_to_linker::<NodeData, WasiSockets>(l, sockets)
        },
    },
    Interface {
        id: TVB_WASI_SOCKETS_UDP,
        name: c"wasi:sockets/udp",
        link: |l| p2::sync::sockets::udp::add_to_linker::<NodeData, WasiSockets>(l, sockets),
    },
    Interface {
        id: TVB_WASI_SOCKETS_UDP_CREATE_SOCKET,
        name: c"wasi:sockets/udp-create-socket",
        link: |l| {
            p2::sockets::udp_create_socket::add_to_linker::<NodeData, WasiSockets>(l, sockets)
        },
    },
];

/// The number of interfaces (`tvb_wasi_interface` values are 0 .. count).
#[unsafe(no_mangle)]
pub extern "C" fn tvb_wasi_interface_count() -> u32 {
    INTERFACES.len() as u32
}

/// The name of interface `id`, e.g. "wasi:cli/stdout" (no version), or NULL.
#[unsafe(no_mangle)]
pub extern "C" fn tvb_wasi_interface_name(id: u32) -> *const c_char {
    INTERFACES
        .iter()
        .find(|i| i.id as u32 == id)
        .map_or(std::ptr::null(), |i| i.name.as_ptr())
}

/// A host directory a node may use, seen by the guest at `guest_path`.
#[repr(C)]
pub struct tvb_dir_grant {
    pub host_path: *const c_char,
    pub guest_path: *const c_char,
    /// 0: read-only.
    pub writable: u8,
}

/// An environment variable a node may read.
#[repr(C)]
pub struct tvb_env_var {
    pub name: *const c_char,
    pub value: *const c_char,
}

/// What one node was granted. Zero-initialised means "nothing": only the
/// interfaces in `interfaces` are linked. `tvb_prepare` copies everything.
#[repr(C)]
pub struct tvb_grants {
    /// Bit `1 << tvb_wasi_interface` for each interface to link.
    pub interfaces: u64,
    pub dirs: *const tvb_dir_grant,
    pub dir_count: usize,
    pub env: *const tvb_env_var,
    pub env_count: usize,
    /// "ip:port" the node may connect or send to.
    pub connect: *const *const c_char,
    pub connect_count: usize,
    /// Called, on the calling thread, for every refused network operation.
    pub audit_user: *mut c_void,
    pub audit_deny: Option<extern "C" fn(user: *mut c_void, what: *const u8, len: usize)>,
    /// Imports (full names, e.g. "wasi:cli/stdout@0.2.6") linked to denying
    /// stubs instead of being granted (denied.rs).
    pub stubbed: *const tvb_stubbed_import,
    pub stubbed_count: usize,
}

/// An ungranted import the node's operator chose to deny call by call.
#[repr(C)]
pub struct tvb_stubbed_import {
    pub name: *const c_char,
    /// What would grant it, for the message of a denied call ("" if nothing).
    pub hint: *const c_char,
}

/// The grants, copied out of C memory so they outlive the call that gave them.
#[derive(Clone, Default)]
pub struct Grants {
    interfaces: u64,
    dirs: Vec<(String, String, bool)>,
    env: Vec<(String, String)>,
    connect: HashSet<SocketAddr>,
    audit: Option<Audit>,
    stubbed: Vec<(String, String)>, // import name, what would grant it
}

#[derive(Clone, Copy)]
pub(crate) struct Audit {
    user: usize, // *mut c_void, kept as an integer so the closure is Send + Sync
    deny: extern "C" fn(*mut c_void, *const u8, usize),
}

impl Audit {
    pub(crate) fn deny(&self, what: &str) {
        (self.deny)(self.user as *mut c_void, what.as_ptr(), what.len());
    }
}

fn c_str(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

fn slice<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(p, n) }
    }
}

impl Grants {
    /// Reads grants from C. Fails on an unparseable network address.
    pub fn from_c(g: Option<&tvb_grants>) -> Result<Grants, String> {
        let Some(g) = g else {
            return Ok(Grants::default());
        };
        let mut out = Grants {
            interfaces: g.interfaces,
            ..Grants::default()
        };
        for d in slice(g.dirs, g.dir_count) {
            out.dirs
                .push((c_str(d.host_path), c_str(d.guest_path), d.writable != 0));
        }
        for e in slice(g.env, g.env_count) {
            out.env.push((c_str(e.name), c_str(e.value)));
        }
        for a in slice(g.connect, g.connect_count) {
            let text = c_str(*a);
            let addr: SocketAddr = text
                .parse()
                .map_err(|_| format!("not an IP address and port: '{text}'"))?;
            out.connect.insert(addr);
        }
        for s in slice(g.stubbed, g.stubbed_count) {
            out.stubbed.push((c_str(s.name), c_str(s.hint)));
        }
        if let Some(deny) = g.audit_deny {
            out.audit = Some(Audit {
                user: g.audit_user as usize,
                deny,
            });
        }
        Ok(out)
    }

    fn has(&self, i: tvb_wasi_interface) -> bool {
        self.interfaces & (1u64 << i as u32) != 0
    }

    fn any(&self) -> bool {
        self.interfaces != 0
    }

    /// What would grant import `name`, when it is linked to denying stubs.
    pub(crate) fn stub_hint(&self, name: &str) -> Option<&str> {
        self.stubbed
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, hint)| hint.as_str())
    }

    pub(crate) fn audit(&self) -> Option<Audit> {
        self.audit
    }
}

impl WasiView for NodeData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        // Only nodes with a grant have WASI interfaces linked, and exactly
        // those nodes get a WasiState (see `new_state`).
        let state = self
            .wasi
            .as_mut()
            .expect("WASI interface linked without a WASI context");
        WasiCtxView {
            ctx: &mut state.ctx,
            table: &mut state.table,
        }
    }
}

/// Adds exactly the interfaces the grants name.
pub fn add_granted_to_linker(linker: &mut L, g: &Grants) -> wasmtime::Result<()> {
    for i in INTERFACES.iter().filter(|i| g.has(i.id)) {
        (i.link)(linker)?;
    }
    Ok(())
}

/// Whether a socket operation on `addr` is within the grant: outbound
/// traffic to a listed address, and the implicit wildcard bind a connect
/// makes. Nothing may listen or accept.
fn socket_allowed(allowed: &HashSet<SocketAddr>, addr: SocketAddr, usage: SocketAddrUse) -> bool {
    match usage {
        SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
            allowed.contains(&addr)
        }
        SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
            addr.ip().is_unspecified() && addr.port() == 0
        }
        SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => false,
    }
}

/// The WASI context of a node with `g`, or none when it has no grant. What
/// the guest writes to stdout and stderr goes to the host's callback.
pub fn new_state(
    g: &Grants,
    node: *mut c_void,
    callbacks: tvb_host_callbacks,
    limits: &tvb_guest_limits,
) -> wasmtime::Result<Option<Box<WasiState>>> {
    if !g.any() {
        return Ok(None);
    }
    let mut b = WasiCtxBuilder::new();
    let permit = limits.stream_write_bytes;
    if g.has(TVB_WASI_CLI_STDOUT) {
        b.stdout(GuestOutput::new(
            node,
            tvb_stream::TVB_STREAM_STDOUT,
            callbacks,
            permit,
        ));
    }
    if g.has(TVB_WASI_CLI_STDERR) {
        b.stderr(GuestOutput::new(
            node,
            tvb_stream::TVB_STREAM_STDERR,
            callbacks,
            permit,
        ));
    }
    for (name, value) in &g.env {
        b.env(name, value);
    }
    for (host, guest, writable) in &g.dirs {
        let perms = if *writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        b.preopened_dir(host, guest, perms)?;
    }
    if !g.connect.is_empty() {
        let allowed = g.connect.clone();
        let audit = g.audit;
        b.allow_tcp(true);
        b.allow_udp(true);
        b.allow_ip_name_lookup(false);
        b.socket_addr_check(move |addr, usage| {
            let ok = socket_allowed(&allowed, addr, usage);
            if !ok && let Some(a) = audit {
                a.deny(&format!("network {usage:?} {addr}"));
            }
            Box::pin(async move { ok })
        });
    } else {
        b.allow_tcp(false);
        b.allow_udp(false);
    }
    let mut table = ResourceTable::new();
    table.set_max_capacity(usize::try_from(limits.wasi_resources).unwrap_or(usize::MAX));
    Ok(Some(Box::new(WasiState {
        ctx: b.build(),
        table,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interface_has_one_row_in_id_order() {
        for (n, i) in INTERFACES.iter().enumerate() {
            assert_eq!(i.id as usize, n, "{:?}", i.name);
        }
        assert_eq!(tvb_wasi_interface_count() as usize, INTERFACES.len());
        let name = unsafe { CStr::from_ptr(tvb_wasi_interface_name(TVB_WASI_CLI_STDOUT as u32)) };
        assert_eq!(name, c"wasi:cli/stdout");
        assert!(tvb_wasi_interface_name(999).is_null());
    }

    #[test]
    fn sockets_admit_only_the_granted_addresses() {
        let a: SocketAddr = "127.0.0.1:6379".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:6380".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let allowed: HashSet<SocketAddr> = [a].into_iter().collect();
        assert!(socket_allowed(&allowed, a, SocketAddrUse::TcpConnect));
        assert!(!socket_allowed(&allowed, b, SocketAddrUse::TcpConnect));
        assert!(socket_allowed(&allowed, any, SocketAddrUse::TcpBind));
        assert!(!socket_allowed(&allowed, a, SocketAddrUse::TcpListen));
        assert!(!socket_allowed(&allowed, a, SocketAddrUse::TcpAccept));
    }

    #[test]
    fn grants_read_from_c_refuse_a_bad_address() {
        let bad = c"not-an-address";
        let list = [bad.as_ptr()];
        let g = tvb_grants {
            interfaces: 1 << TVB_WASI_SOCKETS_TCP as u32,
            dirs: std::ptr::null(),
            dir_count: 0,
            env: std::ptr::null(),
            env_count: 0,
            connect: list.as_ptr(),
            connect_count: 1,
            audit_user: std::ptr::null_mut(),
            audit_deny: None,
            stubbed: std::ptr::null(),
            stubbed_count: 0,
        };
        assert!(Grants::from_c(Some(&g)).is_err());
        assert!(!Grants::from_c(None).unwrap().any());
    }
}
