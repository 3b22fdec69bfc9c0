// Imported first by index.js, so the parent's pid is read before the slow part of start-up (loading
// Baileys). `npm start` runs us under `sh -c`, which does not pass SIGTERM on: when that shell dies we
// are re-parented, and must stop rather than linger on the port as an orphan.
const parentAtStart = process.ppid;

/** Call `onOrphaned` once the process that started us is gone. `expectParent`: we know we had one. */
export function watchParent(onOrphaned, { expectParent }) {
  const orphaned = () => process.ppid !== parentAtStart || (expectParent && process.ppid === 1);
  if (orphaned()) {
    onOrphaned();
    return;
  }
  setInterval(() => {
    if (orphaned()) onOrphaned();
  }, 500).unref();
}
