// The small test harness both browser tests share: named checks that each
// get a time limit, stop the run at the first failure (later checks build
// on earlier ones) and are counted for the final `N passed, M failed`.

export const results = { passed: 0, failed: 0 };
let stopped = false;

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs one named check within `limit` ms; after a failure the later ones
 * are counted as failed without running. */
export async function check(name, limit, body) {
  if (stopped) {
    results.failed++;
    console.log(`not ok - ${name} (not run: an earlier check failed)`);
    return;
  }
  const started = Date.now();
  try {
    await withTimeout(body(), limit, name);
    results.passed++;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.failed++;
    stopped = true;
    console.log(`not ok - ${name}`);
    console.log(String(error && error.stack ? error.stack : error).replace(/^/gm, "  # "));
  }
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}
