//! WASI capabilities, linked one interface at a time.
//!
//! A node gets a WASI context only when it holds a grant, and its linker gets
//! only the interfaces its grants cover. A component importing anything else
//! fails to link (the C++ host reports the capability to grant). The context
//! itself is built from the grants: preopened directories, named environment
//! variables, and a socket check that admits only the listed addresses.

use std::collections::HashSet;
use std::ffi::{CStr, c_char, c_void};
use std::net::SocketAddr;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::p2::bindings as p2;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::guest_output::{self, GuestOutput};
use crate::host::{GuestLimits, HostCallbacks, NodeData};

/// One preopened directory; mirrors `tvb_dir_grant`.
#[repr(C)]
pub struct tvb_dir_grant {
    pub host_path: *const c_char,
    pub guest_path: *const c_char,
    pub writable: u8,
}

/// One environment variable the node may read; mirrors `tvb_env_var`.
#[repr(C)]
pub struct tvb_env_var {
    pub name: *const c_char,
    pub value: *const c_char,
}

/// Mirrors `tvb_grants` in the C header.
#[repr(C)]
pub struct tvb_grants {
    pub stdout_: u8,
    pub stderr_: u8,
    pub wall_clock: u8,
    pub monotonic_clock: u8,
    pub random: u8,
    pub exit: u8,
    pub null_devices: u8,
    pub dirs: *const tvb_dir_grant,
    pub dir_count: usize,
    pub env: *const tvb_env_var,
    pub env_count: usize,
    pub connect: *const *const c_char,
    pub connect_count: usize,
    pub audit_user: *mut c_void,
    pub audit_deny: Option<extern "C" fn(*mut c_void, *const u8, usize)>,
}

/// The grants, copied out of C memory so they outlive the call that gave them.
#[derive(Clone, Default)]
pub struct Grants {
    stdout: bool,
    stderr: bool,
    wall_clock: bool,
    monotonic_clock: bool,
    random: bool,
    exit: bool,
    null_devices: bool,
    dirs: Vec<(String, String, bool)>,
    env: Vec<(String, String)>,
    connect: HashSet<SocketAddr>,
    audit: Option<Audit>,
}

#[derive(Clone, Copy)]
struct Audit {
    user: usize, // *mut c_void, kept as an integer so the closure is Send + Sync
    deny: extern "C" fn(*mut c_void, *const u8, usize),
}

impl Audit {
    fn deny(&self, what: &str) {
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
            stdout: g.stdout_ != 0,
            stderr: g.stderr_ != 0,
            wall_clock: g.wall_clock != 0,
            monotonic_clock: g.monotonic_clock != 0,
            random: g.random != 0,
            exit: g.exit != 0,
            null_devices: g.null_devices != 0,
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
        if let Some(deny) = g.audit_deny {
            out.audit = Some(Audit {
                user: g.audit_user as usize,
                deny,
            });
        }
        Ok(out)
    }

    fn network(&self) -> bool {
        !self.connect.is_empty()
    }

    fn any(&self) -> bool {
        self.stdout
            || self.stderr
            || self.wall_clock
            || self.monotonic_clock
            || self.random
            || self.exit
            || self.null_devices
            || !self.dirs.is_empty()
            || !self.env.is_empty()
            || self.network()
    }
}

pub struct WasiState {
    ctx: WasiCtx,
    pub table: ResourceTable,
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

struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

type L = Linker<NodeData>;

/// Adds exactly the WASI interfaces the grants allow.
pub fn add_granted_to_linker(linker: &mut L, g: &Grants) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
    use wasmtime_wasi::random::WasiRandom;
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};

    if !g.any() {
        return Ok(());
    }
    // Streams, polling and errors carry every other interface's I/O; every
    // wait among them is bounded by the call's deadline.
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<NodeData, HasTable>(
        linker,
        |t| t.ctx().table,
    )?;
    crate::bounded_io::add_to_linker(linker)?;
    let cli = <NodeData as WasiCliView>::cli;
    if g.exit {
        p2::cli::exit::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
    }
    if g.null_devices {
        // The context has no stdin data and no terminal: nothing reaches the host.
        p2::cli::stdin::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
        p2::cli::terminal_input::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
        p2::cli::terminal_output::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
        p2::cli::terminal_stdin::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
        p2::cli::terminal_stdout::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
        p2::cli::terminal_stderr::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
    }
    if g.stdout {
        p2::cli::stdout::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
    }
    if g.stderr {
        p2::cli::stderr::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
    }
    if !g.env.is_empty() {
        p2::cli::environment::add_to_linker::<NodeData, WasiCli>(linker, cli)?;
    }
    let clocks = <NodeData as WasiClocksView>::clocks;
    if g.wall_clock {
        p2::clocks::wall_clock::add_to_linker::<NodeData, WasiClocks>(linker, clocks)?;
    }
    if g.monotonic_clock {
        p2::clocks::monotonic_clock::add_to_linker::<NodeData, WasiClocks>(linker, clocks)?;
    }
    if g.random {
        fn random(t: &mut NodeData) -> &mut wasmtime_wasi::random::WasiRandomCtx {
            t.ctx().ctx.random()
        }
        p2::random::random::add_to_linker::<NodeData, WasiRandom>(linker, random)?;
        p2::random::insecure::add_to_linker::<NodeData, WasiRandom>(linker, random)?;
        p2::random::insecure_seed::add_to_linker::<NodeData, WasiRandom>(linker, random)?;
    }
    if !g.dirs.is_empty() {
        let fs = <NodeData as WasiFilesystemView>::filesystem;
        p2::filesystem::preopens::add_to_linker::<NodeData, WasiFilesystem>(linker, fs)?;
        p2::sync::filesystem::types::add_to_linker::<NodeData, WasiFilesystem>(linker, fs)?;
    }
    if g.network() {
        let s = <NodeData as WasiSocketsView>::sockets;
        p2::sockets::instance_network::add_to_linker::<NodeData, WasiSockets>(linker, s)?;
        p2::sockets::network::add_to_linker::<NodeData, WasiSockets>(
            linker,
            &Default::default(),
            s,
        )?;
        p2::sockets::tcp_create_socket::add_to_linker::<NodeData, WasiSockets>(linker, s)?;
        p2::sync::sockets::tcp::add_to_linker::<NodeData, WasiSockets>(linker, s)?;
        p2::sockets::udp_create_socket::add_to_linker::<NodeData, WasiSockets>(linker, s)?;
        p2::sync::sockets::udp::add_to_linker::<NodeData, WasiSockets>(linker, s)?;
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
    callbacks: HostCallbacks,
    limits: &GuestLimits,
) -> wasmtime::Result<Option<Box<WasiState>>> {
    if !g.any() {
        return Ok(None);
    }
    let mut b = WasiCtxBuilder::new();
    let permit = limits.stream_write_bytes;
    if g.stdout {
        b.stdout(GuestOutput::new(
            node,
            guest_output::STDOUT,
            callbacks,
            permit,
        ));
    }
    if g.stderr {
        b.stderr(GuestOutput::new(
            node,
            guest_output::STDERR,
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
    if g.network() {
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
