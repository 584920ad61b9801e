// Test processor: upper case and "!", byte by byte: the payload as the host
// lends it (element.data) and a Uint8Array back.
import { exportProcessor } from 'torvyn/processor';

class Shout {
  process(element) {
    const data = element.data;
    const out = new Uint8Array(data.length + 1);
    for (let i = 0; i < data.length; i++) {
      const c = data[i];
      out[i] = c >= 97 && c <= 122 ? c - 32 : c;
    }
    out[data.length] = 33;
    return out;
  }
}

export const { processor, lifecycle } = exportProcessor(Shout);
