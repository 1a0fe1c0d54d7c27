// autobahn-js binds console.warn when it loads and reports every connection close through it;
// in tests that is noise. Filter its messages (set SWITCHYARD_TEST_VERBOSE=1 to keep them).
// Must be imported before 'autobahn'.
const original = console.warn.bind(console);
const AUTOBAHN_NOISE = /^(connection closed|auto-reconnect|failing transport|session closed|Session not open|WAMP session|could not|closing transport)/i;
if (!process.env.SWITCHYARD_TEST_VERBOSE) {
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && AUTOBAHN_NOISE.test(args[0])) return;
    original(...args);
  };
}
export {};
