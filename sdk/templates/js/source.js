// {{name}}: a Torvyn source in JavaScript. Emits "{{name}} 0", "{{name}} 1",
// ... (config "count=N", default 5), then ends.
import { exportSource } from 'torvyn/source';

class {{Name}} {
  constructor(config) {
    this.count = Number(config.split('count=')[1] ?? 5);
    this.next = 0;
  }
  pull() {
    if (this.next === this.count) {
      return null; // exhausted
    }
    return `{{name}} ${this.next++}`;
  }
}

export const { source, lifecycle } = exportSource({{Name}});
