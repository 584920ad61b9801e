// {{name}}: a Torvyn aggregator in JavaScript. Counts what it absorbs and,
// when its input ends, emits one element "count=N".
import { Output } from 'torvyn';
import { exportAggregator } from 'torvyn/aggregator';

class {{Name}} {
  absorbed = 0;
  ingest() {
    this.absorbed++;
    return null; // nothing to emit yet
  }
  flush() {
    return [new Output(`count=${this.absorbed}`, { contentType: 'text/plain' })];
  }
}

export const { aggregator, lifecycle } = exportAggregator({{Name}});
