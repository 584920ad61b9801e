// Test source: "js 0", "js 1", ... (config count=N); says Pending once first.
import { Output, Pending } from 'torvyn';
import { exportSource } from 'torvyn/source';

class Count {
  constructor(config) {
    this.count = Number(config.split('count=')[1] ?? 3);
    this.next = 0;
    this.waited = false;
  }
  pull() {
    if (!this.waited) {
      this.waited = true; // the host must ask again, not give up
      return new Pending(1_000_000);
    }
    if (this.next === this.count) {
      return null;
    }
    return new Output(`js ${this.next++}`, { contentType: 'text/plain' });
  }
}

export const { source, lifecycle } = exportSource(Count);
