// The host side of torvyn:streaming@0.2.0 (wit/types.wit), written in plain
// JavaScript for components transpiled by `jco transpile --instantiation`.
// It is a second, independent implementation of the contract: if the
// example components run the same here as under `torvyn run`, they depend on
// the WIT only, not on our C++ host.
//
// jco's conventions, which shape this file:
//   - a WIT resource imported by a component is a JS class the host gives
//     (`Buffer`, `MutableBuffer`); its methods are camelCase; a static
//     function is a static method (`MutableBuffer.freeze`);
//   - u64 is a BigInt, list<u8> a Uint8Array, option<T> T or undefined,
//     variants { tag, val }, records camelCase objects;
//   - an import returning result<T, E> returns T, or throws an object whose
//     own `payload` property is the E.

// What the flow may hold in one buffer (the real host's budgets are larger
// and configurable; a component here that needs more gets capacity-exceeded).
const MAX_BUFFER_BYTES = 64 * 1024 * 1024;

function bufferError(tag, val) {
    const e = new Error(`buffer-error: ${tag}`);
    e.payload = val === undefined ? { tag } : { tag, val };
    return e;
}

function toIndex(n) {
    // u64 arrives as a BigInt; anything past the byte budget is out of reach.
    const big = BigInt(n);
    return big > BigInt(MAX_BUFFER_BYTES) ? Infinity : Number(big);
}

/// An immutable payload owned by the host. Components see it through a
/// handle only: borrowed in a stream-element, or owned after `make`/`freeze`
/// until they return it in an output-element.
export class Buffer {
    #bytes;
    #contentType;

    constructor(bytes, contentType = '') {
        this.#bytes = bytes;
        this.#contentType = contentType;
    }

    size() {
        return BigInt(this.#bytes.length);
    }

    contentType() {
        return this.#contentType;
    }

    read(offset, len) {
        const from = Math.min(toIndex(offset), this.#bytes.length);
        const to = Math.min(from + toIndex(len), this.#bytes.length);
        return this.#bytes.slice(from, to);
    }

    readAll() {
        return this.#bytes.slice();
    }

    /// For the runner (not part of the WIT): the payload as text.
    text() {
        return new TextDecoder().decode(this.#bytes);
    }
}

/// A host buffer one component is filling; `freeze` turns it into a Buffer.
export class MutableBuffer {
    #bytes;
    #size = 0;
    #contentType = '';
    #frozen = false;

    constructor(capacityHint = 0) {
        this.#bytes = new Uint8Array(Math.min(Math.max(capacityHint, 16), MAX_BUFFER_BYTES));
    }

    write(offset, bytes) {
        this.#check();
        const at = toIndex(offset);
        const end = at + bytes.length;
        if (end > MAX_BUFFER_BYTES) {
            throw bufferError('capacity-exceeded', BigInt(MAX_BUFFER_BYTES));
        }
        if (end > this.#bytes.length) {
            // Grow; the new bytes, and any gap before `offset`, are zeros.
            const grown = new Uint8Array(Math.min(Math.max(end, this.#bytes.length * 2), MAX_BUFFER_BYTES));
            grown.set(this.#bytes.subarray(0, this.#size));
            this.#bytes = grown;
        }
        this.#bytes.set(bytes, at);
        this.#size = Math.max(this.#size, end);
    }

    append(bytes) {
        this.write(BigInt(this.#size), bytes);
    }

    size() {
        return BigInt(this.#size);
    }

    capacity() {
        return BigInt(this.#bytes.length);
    }

    setContentType(contentType) {
        this.#check();
        this.#contentType = contentType;
    }

    static freeze(mutable) {
        mutable.#check();
        mutable.#frozen = true;
        // The bytes move into the new buffer; the mutable one keeps nothing.
        const frozen = new Buffer(mutable.#bytes.subarray(0, mutable.#size), mutable.#contentType);
        mutable.#bytes = new Uint8Array(0);
        return frozen;
    }

    #check() {
        if (this.#frozen) {
            throw bufferError('invalid-state');
        }
    }
}

/// The flow-level state the host exposes to components: the context of the
/// call in progress and, during a dead-letter push, why the element is there.
export class Host {
    #context = { flowId: '', traceId: '', spanId: '', remainingDeadlineNs: undefined };
    #deadLetter = undefined;

    /// Starts a flow: its name and a fresh W3C trace id / span id.
    startFlow(flowId) {
        this.#context = { flowId, traceId: randomHex(16), spanId: randomHex(8), remainingDeadlineNs: undefined };
    }

    /// Runs `call` with `reason` answering `why-dead-lettered`, then clears it.
    withDeadLetter(reason, call) {
        this.#deadLetter = reason;
        try {
            return call();
        } finally {
            this.#deadLetter = undefined;
        }
    }

    /// The import object of one component: torvyn's interfaces plus `wasi`,
    /// the WASI imports (preview2-shim's objects), keyed as jco expects.
    imports(wasi = {}) {
        const types = {
            Buffer,
            MutableBuffer,
            currentContext: () => ({ ...this.#context }),
            whyDeadLettered: () => (this.#deadLetter ? { ...this.#deadLetter } : undefined),
            // This host has no connectors: its elements carry no attributes.
            elementAttributes: (_index) => [],
        };
        const allocator = {
            allocate: (capacityHint) => new MutableBuffer(toIndex(capacityHint)),
            make: (bytes, contentType) => {
                if (bytes.length > MAX_BUFFER_BYTES) {
                    throw bufferError('capacity-exceeded', BigInt(MAX_BUFFER_BYTES));
                }
                return new Buffer(bytes.slice(), contentType);
            },
        };
        const torvyn = {
            'torvyn:streaming/types': types,
            'torvyn:streaming/buffer-allocator': allocator,
        };
        // jco's generated code looks the interfaces up without the version,
        // its .d.ts with it: give both.
        const all = { ...wasi, ...torvyn };
        for (const [name, value] of Object.entries(torvyn)) {
            all[`${name}@0.2.0`] = value;
        }
        return all;
    }
}

function randomHex(bytes) {
    return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) =>
        b.toString(16).padStart(2, '0'),
    ).join('');
}
