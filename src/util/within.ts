/** Resolves when `work` settles or after `ms`, whichever comes first; never rejects. For shutdown steps with a budget. */
export function within(work: Promise<unknown>, ms: number): Promise<void> {
  return Promise.race([work.then(ignore, ignore), new Promise<void>((r) => setTimeout(r, ms).unref())]);
}

function ignore(): void {}
