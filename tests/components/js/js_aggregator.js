// Test aggregator: emits "pair A B" for every two elements, and at the end
// "count=N last=X" (X: the payload with the highest sequence).
import { Output } from 'torvyn';
import { exportAggregator } from 'torvyn/aggregator';

class Pairs {
  held = [];
  count = 0;
  last = { sequence: -1n, text: '' };
  ingest(element) {
    this.count++;
    if (element.sequence > this.last.sequence) {
      this.last = { sequence: element.sequence, text: element.text };
    }
    this.held.push(element.text);
    if (this.held.length === 2) {
      const pair = this.held.splice(0);
      return new Output(`pair ${pair.join(' ')}`, { contentType: 'text/plain' });
    }
    return null;
  }
  flush() {
    return [new Output(`count=${this.count} last=${this.last.text}`, { contentType: 'text/plain' })];
  }
}

export const { aggregator, lifecycle } = exportAggregator(Pairs);
