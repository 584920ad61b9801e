// Outputs: bytes, text or Output into the contract's output-element. Only
// the roles whose world imports the buffer allocator use this.
import { make } from 'torvyn:streaming/buffer-allocator@0.2.0';

import { Output, Unavailable } from './element.js';

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const encoder = new TextEncoder();

function bytesOf(data) {
  // What the host lends comes from the bindings' realm: `instanceof
  // Uint8Array` is false for it, so ask for any byte view.
  if (ArrayBuffer.isView(data)) {
    return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (data instanceof ArrayBuffer) {
    return new Uint8Array(data);
  }
  if (typeof data === 'string') {
    return encoder.encode(data);
  }
  throw new TypeError(
    `an element's payload must be a Uint8Array (or another byte view), a string or an Output, not ${typeof data}`,
  );
}

/**
 * `value` as a new element: content type and meta from `like` (the input)
 * unless the Output names its own; `sequence` when there is no input.
 */
export function outputElement(value, like, sequence) {
  const out = value instanceof Output ? value : new Output(value);
  const data = bytesOf(out.data);
  const contentType =
    out.contentType ?? (like ? like.contentType : typeof out.data === 'string' ? 'text/plain' : DEFAULT_CONTENT_TYPE);
  let meta;
  if (like) {
    meta = out.sequence === undefined ? like.meta : { sequence: BigInt(out.sequence), timestampNs: like.timestampNs };
  } else {
    meta = { sequence: BigInt(out.sequence ?? sequence), timestampNs: 0n };
  }
  let payload;
  try {
    payload = make(data, contentType);
  } catch (e) {
    // A budget or limit of the host: the node's policy decides.
    throw new Unavailable(`the host refused a buffer of ${data.length} bytes: ${JSON.stringify(e?.payload ?? e)}`);
  }
  return { meta, payload };
}
