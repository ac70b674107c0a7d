/**
 * SIGHUP re-reads the config. Node's default for a signal without a listener is to end the process, so one that
 * came while the gateway was still starting (module loading, the bind, up to 3 s waiting on Redis) killed it:
 * what a reload loop over pods does to one that is starting. It is caught from the first module on, and one that
 * came early is applied once the gateway is up (the file may have changed after it was read).
 */
let handler: (() => void) | undefined;
let pending = false;

process.on("SIGHUP", () => {
  if (handler) handler();
  else pending = true;
});

/** What SIGHUP does from now on; a SIGHUP that came before runs it at once. */
export function onSighup(h: () => void): void {
  handler = h;
  if (pending) {
    pending = false;
    h();
  }
}
