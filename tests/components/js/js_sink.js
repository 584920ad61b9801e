// Test sink: counts; refuses a payload with a "3" in it as invalid input.
import { InvalidInput, Internal } from 'torvyn';
import { exportSink } from 'torvyn/sink';

class Tally {
  n = 0;
  push(element) {
    if (element.text.includes('3')) {
      throw new InvalidInput(`no threes: ${element.text}`);
    }
    this.n++;
  }
  complete() {
    if (this.n === 0) {
      throw new Internal('nothing arrived');
    }
  }
}

export const { sink, lifecycle } = exportSink(Tally);
