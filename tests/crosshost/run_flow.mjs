// Runs one flow of a Torvyn.toml under Node.js, with components transpiled
// by `jco transpile --instantiation sync` and the host in host.mjs.
//
//   node run_flow.mjs --list MANIFEST
//       prints the component files the manifest names, one a line
//   node run_flow.mjs MANIFEST TRANSPILED_DIR [FLOW]
//       runs the flow (the manifest's only flow when FLOW is omitted);
//       TRANSPILED_DIR/<name>/<name>.js is the transpiled <name>.wasm
//
// Stdout carries only what components print; diagnostics go to stderr and
// the exit status is 1 on any failure.
//
// The flow is driven one element at a time, depth first: each element a
// source emits goes all the way down the graph before the next pull. That
// is a valid schedule of the real host's concurrent one, so a flow whose
// output does not depend on timing prints the same.
//
// Roles: source, processor, filter, router (edges `from = "node.port"`),
// aggregator, sink. Error policies: fail (the default), skip, retry
// (`retries`, no backoff), dead-letter. A trap ends the run.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { Host } from './host.mjs';

class FlowError extends Error {}

// ---------------------------------------------------------------- manifest

// The TOML subset manifests use: [a.b.c] and [[a.b]] headers, key = value
// with strings, integers, floats, booleans and one-line arrays of them,
// comments. Enough for examples/*/Torvyn.toml; anything else is an error.
function parseToml(text, file) {
    const root = {};
    let table = root;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
        const where = `${file}:${i + 1}`;
        const line = stripComment(lines[i]).trim();
        if (line === '') continue;
        let m;
        if ((m = /^\[\[(.+)\]\]$/.exec(line))) {
            const path = splitKey(m[1], where);
            const parent = walk(root, path.slice(0, -1), where);
            const last = path[path.length - 1];
            parent[last] ??= [];
            if (!Array.isArray(parent[last])) throw new FlowError(`${where}: ${last} is not an array`);
            table = {};
            parent[last].push(table);
        } else if ((m = /^\[(.+)\]$/.exec(line))) {
            table = walk(root, splitKey(m[1], where), where);
        } else if ((m = /^([^=]+?)\s*=\s*(.+)$/.exec(line))) {
            const path = splitKey(m[1], where);
            const parent = walk(table, path.slice(0, -1), where);
            parent[path[path.length - 1]] = parseValue(m[2].trim(), where);
        } else {
            throw new FlowError(`${where}: cannot read '${line}'`);
        }
    }
    return root;
}

function stripComment(line) {
    let quote = null;
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (quote) {
            if (c === '\\' && quote === '"') i++;
            else if (c === quote) quote = null;
        } else if (c === '"' || c === "'") {
            quote = c;
        } else if (c === '#') {
            return line.slice(0, i);
        }
    }
    return line;
}

function splitKey(key, where) {
    const parts = [];
    const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/gy;
    let m;
    while (re.lastIndex < key.length && (m = re.exec(key))) {
        parts.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : m[2] ?? m[3]);
        if (m[4] === '') break;
    }
    if (parts.length === 0 || re.lastIndex < key.length) throw new FlowError(`${where}: bad key '${key}'`);
    return parts;
}

function walk(table, path, where) {
    for (const part of path) {
        let next = table[part] ?? (table[part] = {});
        if (Array.isArray(next)) next = next[next.length - 1];
        if (typeof next !== 'object') throw new FlowError(`${where}: ${part} is not a table`);
        table = next;
    }
    return table;
}

function parseValue(text, where) {
    if (text.startsWith('"')) return JSON.parse(text);
    if (text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1);
    if (text === 'true' || text === 'false') return text === 'true';
    if (/^[+-]?\d[\d_]*$/.test(text)) return Number(text.replaceAll('_', ''));
    if (/^[+-]?\d[\d_]*\.\d+([eE][+-]?\d+)?$/.test(text)) return Number(text.replaceAll('_', ''));
    if (text.startsWith('[') && text.endsWith(']')) {
        const inner = text.slice(1, -1).trim();
        if (inner === '') return [];
        // Elements are scalars: split on commas outside quotes.
        const items = [];
        let quote = null;
        let start = 0;
        for (let i = 0; i < inner.length; i++) {
            const c = inner[i];
            if (quote) {
                if (c === '\\' && quote === '"') i++;
                else if (c === quote) quote = null;
            } else if (c === '"' || c === "'") quote = c;
            else if (c === ',') {
                items.push(inner.slice(start, i));
                start = i + 1;
            }
        }
        items.push(inner.slice(start));
        return items.map((s) => s.trim()).filter((s) => s !== '').map((s) => parseValue(s, where));
    }
    throw new FlowError(`${where}: unsupported value ${text}`);
}

function loadFlow(manifestPath, flowName) {
    const file = manifestPath.endsWith('.toml') ? manifestPath : join(manifestPath, 'Torvyn.toml');
    const doc = parseToml(readFileSync(file, 'utf8'), file);
    const flows = doc.flow ?? {};
    const names = Object.keys(flows);
    if (!flowName) {
        if (names.length !== 1) throw new FlowError(`${file}: say which flow to run (${names.join(', ')})`);
        flowName = names[0];
    }
    const spec = flows[flowName];
    if (!spec) throw new FlowError(`${file}: no flow '${flowName}'`);
    return { name: flowName, nodes: spec.nodes ?? {}, edges: spec.edges ?? [] };
}

// ---------------------------------------------------------------- the flow

const CODE_OF = { fatal: 'E0305' }; // every other returned error: E0303

function callError(e) {
    // jco throws a returned `err(process-error)` as a ComponentError whose
    // own `payload` is the variant; anything else is a trap or a host bug.
    if (e && Object.hasOwn(e, 'payload') && e.payload && typeof e.payload.tag === 'string') {
        const kind = e.payload.tag;
        return { code: CODE_OF[kind] ?? 'E0303', kind, message: e.payload.val ?? '' };
    }
    return { code: 'E0300', kind: 'trap', message: String(e?.message ?? e), trap: e };
}

class Flow {
    constructor(spec, transpiledDir, wasi) {
        this.spec = spec;
        this.transpiledDir = transpiledDir;
        this.wasi = wasi;
        this.host = new Host();
        this.nodes = new Map(); // name -> { name, spec, exports }
        this.outputs = new Map(); // name -> [{ port, to }]
    }

    async instantiate() {
        for (const [name, spec] of Object.entries(this.spec.nodes)) {
            if (!spec.component || !spec.role) throw new FlowError(`node '${name}': component and role are required`);
            const stem = basename(spec.component).replace(/\.wasm$/, '');
            const dir = join(this.transpiledDir, stem);
            // A query per node: a component used by two nodes gets two
            // separate module instances (and so two component instances).
            const url = `${pathToFileURL(join(dir, `${stem}.js`)).href}?node=${encodeURIComponent(name)}`;
            const { instantiate } = await import(url);
            const exports = instantiate(
                (core) => new WebAssembly.Module(readFileSync(join(dir, core))),
                this.host.imports(this.wasi),
            );
            this.nodes.set(name, { name, spec, exports });
            this.outputs.set(name, []);
        }
        for (const edge of this.spec.edges) {
            let from = edge.from;
            let port = null;
            if (!this.nodes.has(from) && from.includes('.')) {
                port = from.slice(from.indexOf('.') + 1);
                from = from.slice(0, from.indexOf('.'));
            }
            if (!this.nodes.has(from) || !this.nodes.has(edge.to)) {
                throw new FlowError(`edge ${edge.from} -> ${edge.to}: no such node`);
            }
            this.outputs.get(from).push({ port, to: edge.to });
        }
        for (const node of this.nodes.values()) {
            const dl = node.spec['dead-letter'];
            if (node.spec['on-error'] === 'dead-letter' && this.nodes.get(dl)?.spec.role !== 'sink') {
                throw new FlowError(`node '${node.name}': dead-letter '${dl}' is not a sink of the flow`);
            }
        }
    }

    // Nodes upstream first (edges and dead-letter links), so that flushing
    // and completing in this order sees every element.
    order() {
        const after = new Map([...this.nodes.keys()].map((n) => [n, []]));
        const inputs = new Map([...this.nodes.keys()].map((n) => [n, 0]));
        const link = (from, to) => {
            after.get(from).push(to);
            inputs.set(to, inputs.get(to) + 1);
        };
        for (const [from, outs] of this.outputs) outs.forEach(({ to }) => link(from, to));
        for (const node of this.nodes.values()) {
            if (node.spec['on-error'] === 'dead-letter') link(node.name, node.spec['dead-letter']);
        }
        const ready = [...inputs].filter(([, n]) => n === 0).map(([name]) => name);
        const order = [];
        while (ready.length) {
            const name = ready.shift();
            order.push(name);
            for (const to of after.get(name)) {
                inputs.set(to, inputs.get(to) - 1);
                if (inputs.get(to) === 0) ready.push(to);
            }
        }
        if (order.length !== this.nodes.size) throw new FlowError('the flow has a cycle');
        return order.map((name) => this.nodes.get(name));
    }

    async run() {
        this.host.startFlow(this.spec.name);
        const order = this.order();
        for (const node of order) {
            const init = node.exports.lifecycle?.init;
            if (init) this.call(node, 'init', () => init(String(node.spec.config ?? '')), null);
        }
        for (const node of order) {
            if (node.spec.role === 'router') this.checkPorts(node);
        }
        for (const node of order) {
            if (node.spec.role === 'source') await this.drain(node);
        }
        for (const node of order) {
            if (node.spec.role === 'aggregator') {
                const flushed = this.call(node, 'flush', () => node.exports.aggregator.flush(), null);
                for (const out of flushed ?? []) this.forward(node, null, this.identity(out, null, node));
            } else if (node.spec.role === 'sink') {
                this.call(node, 'complete', () => node.exports.sink.complete(), null);
            }
        }
        for (const node of order) node.exports.lifecycle?.teardown?.();
    }

    checkPorts(node) {
        const declared = node.exports.router.ports();
        for (const { port } of this.outputs.get(node.name)) {
            if (port === null || !declared.includes(port)) {
                throw new FlowError(`router '${node.name}' has an edge on port '${port}', not one of ${declared}`);
            }
        }
    }

    async drain(node) {
        for (;;) {
            const pulled = this.call(node, 'pull', () => node.exports.source.pull(), null);
            if (pulled.tag === 'exhausted') return;
            if (pulled.tag === 'pending') {
                const ms = Math.max(1, Number(pulled.val / 1_000_000n));
                await new Promise((done) => setTimeout(done, ms));
                continue;
            }
            this.forward(node, null, this.identity(pulled.val, null, node));
        }
    }

    // The element a stage hands over: its own sequence and timestamp when
    // set, else its input's (a transform keeps its input's identity), else,
    // from a source, its position and the time now.
    identity(out, input, node) {
        const { sequence, timestampNs } = out.meta;
        if (!input) node.emitted = (node.emitted ?? 0n) + 1n;
        const seq = sequence !== 0n ? sequence : input ? input.meta.sequence : node.emitted - 1n;
        const ts = timestampNs !== 0n ? timestampNs : input ? input.meta.timestampNs : BigInt(Date.now()) * 1_000_000n;
        return { meta: { sequence: seq, timestampNs: ts }, payload: out.payload };
    }

    forward(from, port, element) {
        for (const out of this.outputs.get(from.name)) {
            if (out.port === port) this.deliver(this.nodes.get(out.to), element);
        }
    }

    deliver(node, el) {
        const x = node.exports;
        switch (node.spec.role) {
            case 'processor': {
                const r = this.call(node, 'process', () => x.processor.process(el), el);
                if (r?.tag === 'emit') this.forward(node, null, this.identity(r.val, el, node));
                return;
            }
            case 'filter':
                if (this.call(node, 'accept', () => x.filter.accept(el), el)) this.forward(node, null, el);
                return;
            case 'router':
                for (const port of new Set(this.call(node, 'route', () => x.router.route(el), el) ?? [])) {
                    this.forward(node, port, el);
                }
                return;
            case 'aggregator': {
                const out = this.call(node, 'ingest', () => x.aggregator.ingest(el), el);
                if (out !== undefined && out !== null) this.forward(node, null, this.identity(out, null, node));
                return;
            }
            case 'sink':
                this.call(node, 'push', () => x.sink.push(el), el);
                return;
            default:
                throw new FlowError(`node '${node.name}': role '${node.spec.role}' cannot take elements`);
        }
    }

    // One call into a component, with the node's error policy. Returns the
    // call's value, or undefined when the element was skipped or
    // dead-lettered; throws FlowError when the flow fails.
    call(node, what, fn, element) {
        const policy = node.spec['on-error'] ?? 'fail';
        const tries = 1 + (policy === 'retry' ? Number(node.spec.retries ?? 3) : 0);
        let failure;
        for (let attempt = 1; attempt <= tries; attempt++) {
            try {
                return fn();
            } catch (e) {
                failure = { ...callError(e), attempts: attempt };
                if (failure.trap || failure.kind === 'fatal') break;
            }
        }
        const seq = element ? ` on element ${element.meta.sequence}` : '';
        const text = `error[${failure.code}] node '${node.name}' failed in ${what}${seq}: ${failure.kind}: ${failure.message}`;
        if (failure.trap || failure.kind === 'fatal' || !element || policy === 'fail') {
            if (failure.trap && process.env.CROSSHOST_DEBUG) console.error(failure.trap);
            throw new FlowError(text);
        }
        if (policy === 'dead-letter') {
            const reason = {
                code: failure.code,
                kind: failure.kind,
                message: failure.message,
                node: node.name,
                attempts: failure.attempts,
            };
            const sink = this.nodes.get(node.spec['dead-letter']);
            this.host.withDeadLetter(reason, () => this.call(sink, 'push', () => sink.exports.sink.push(element), element));
        }
        return undefined; // skipped, retried out, or dead-lettered
    }
}

// ---------------------------------------------------------------- main

async function loadWasi() {
    // preview2-shim lives with jco, not in the repository.
    const env = process.env;
    const tools = env.TORVYN_JS_TOOLS ?? join(env.TORVYN_TOOLS_DIR ?? join(homedir(), '.cache/torvyn/tools'), 'js');
    const require = createRequire(join(tools, 'package.json'));
    const shim = await import(pathToFileURL(require.resolve('@bytecodealliance/preview2-shim')).href);
    const wasi = {};
    for (const [pkg, ifaces] of Object.entries(shim)) {
        for (const [iface, impl] of Object.entries(ifaces)) {
            if (iface.startsWith('_') || typeof impl !== 'object') continue;
            const kebab = iface.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
            wasi[`wasi:${pkg}/${kebab}`] = impl;
        }
    }
    return wasi;
}

async function main(argv) {
    if (argv[0] === '--list' && argv.length === 2) {
        const spec = loadFlow(resolve(argv[1]));
        const files = new Set(Object.values(spec.nodes).map((n) => n.component));
        process.stdout.write([...files].map((f) => `${f}\n`).join(''));
        return;
    }
    if (argv.length < 2 || argv.length > 3) {
        throw new FlowError('usage: node run_flow.mjs MANIFEST TRANSPILED_DIR [FLOW]  |  --list MANIFEST');
    }
    const spec = loadFlow(resolve(argv[0]), argv[2]);
    const flow = new Flow(spec, resolve(argv[1]), await loadWasi());
    await flow.instantiate();
    await flow.run();
}

main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof FlowError ? `run_flow: ${e.message}` : e);
    process.exitCode = 1;
});
