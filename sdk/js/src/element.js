// Elements, outputs and errors: what every role sees. Nothing here imports
// a host interface, so every role's world can use it.

/** A failure the node's `on-error` policy handles (docs/error-policies.md). */
export class TorvynError extends Error {
  get tag() {
    return 'internal';
  }
}
/** This element is bad; others may be fine (dead-letter or skip it). */
export class InvalidInput extends TorvynError {
  get tag() {
    return 'invalid-input';
  }
}
/** Something the component needs is not there now (retry may help). */
export class Unavailable extends TorvynError {
  get tag() {
    return 'unavailable';
  }
}
/** A bug or an unexpected state in the component. */
export class Internal extends TorvynError {}
/** The element's deadline passed before the work was done. */
export class DeadlineExceeded extends TorvynError {
  get tag() {
    return 'deadline-exceeded';
  }
}
/** The component cannot go on: the host stops the node. */
export class Fatal extends TorvynError {
  get tag() {
    return 'fatal';
  }
}

/** Any thrown value as the contract's process-error (unknown ones are internal). */
export function asProcessError(e) {
  if (e instanceof DeadlineExceeded) {
    return { tag: 'deadline-exceeded' };
  }
  if (e instanceof TorvynError) {
    return { tag: e.tag, val: e.message };
  }
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { tag: 'internal', val: text };
}

/** Runs `call`; whatever it throws becomes the contract's process-error. */
export function guarded(call) {
  try {
    return call();
  } catch (e) {
    throw asProcessError(e);
  }
}

const decoder = new TextDecoder();

/** An element lent for one call: read it, do not keep it. */
export class Element {
  #raw;
  #data;
  constructor(raw) {
    this.#raw = raw;
  }
  /** The whole payload as a Uint8Array (copied in once, on first use). */
  get data() {
    if (this.#data === undefined) {
      this.#data = this.#raw.payload.readAll();
    }
    return this.#data;
  }
  /** The payload as UTF-8 text. */
  get text() {
    return decoder.decode(this.data);
  }
  /** Part of the payload, without copying the rest. */
  read(offset, length) {
    return this.#raw.payload.read(BigInt(offset), BigInt(length));
  }
  get size() {
    return Number(this.#raw.payload.size());
  }
  get contentType() {
    return this.#raw.payload.contentType();
  }
  /** The element's sequence number (a BigInt: the contract's u64). */
  get sequence() {
    return this.#raw.meta.sequence;
  }
  get timestampNs() {
    return this.#raw.meta.timestampNs;
  }
  get meta() {
    return this.#raw.meta;
  }
}

/**
 * An element to emit. Returning a Uint8Array or a string is the short form:
 * the input's content type and sequence (processors), or the next sequence
 * number (sources).
 */
export class Output {
  constructor(data, { contentType, sequence } = {}) {
    this.data = data;
    this.contentType = contentType;
    this.sequence = sequence;
  }
}

/** What a source returns when it has nothing yet: ask again in `afterNs` (0: the host decides). */
export class Pending {
  constructor(afterNs = 0) {
    this.afterNs = afterNs;
  }
}

/** What a sink's push returns to ask the host to hold further elements a while. */
export const PAUSE = Symbol('torvyn.PAUSE');
