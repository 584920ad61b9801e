// Torvyn guest SDK for JavaScript (componentize-js): what every role uses.
// Each role's export lives in its own module (processor.js, source.js ...),
// which binds only the host interfaces of that role's world.
export {
  DeadlineExceeded,
  Element,
  Fatal,
  Internal,
  InvalidInput,
  Output,
  PAUSE,
  Pending,
  TorvynError,
  Unavailable,
} from './element.js';
