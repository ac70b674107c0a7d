/** Deterministic "model output": the answer depends only on the app, the prompt and the turn number. */

/** Non-ASCII on purpose (2-, 3- and 4-byte UTF-8) so clients' decoding gets exercised. */
export const FIXED_SENTENCE = "This reply was simulated — café 🚀 included.";

export function answerFor(appName: string, prompt: string, turn: number): string {
  const turnNote = turn > 1 ? ` (turn ${turn})` : "";
  const stop = turnNote === "" && /[.!?]$/.test(prompt) ? "" : ".";
  return `Echo from ${appName}: ${prompt}${turnNote}${stop} ${FIXED_SENTENCE}`;
}

/** Word tokens that keep their leading whitespace, so joining them gives back the text exactly. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [...(text.match(/\s*\S+/g) ?? [])];
  const trailing = text.slice(tokens.join("").length);
  if (trailing && tokens.length > 0) tokens[tokens.length - 1] += trailing;
  else if (trailing) tokens.push(trailing);
  return tokens;
}

/** `_sim.events`: `w1`, ` w2`, … ` wN`. */
export function fillerTokens(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? "w1" : ` w${i + 1}`));
}

/** `_sim.big_event`: one ASCII token of exactly `bytes` bytes. */
export function bigToken(bytes: number): string {
  const pattern = "abcdefghijklmnopqrstuvwxyz0123456789";
  return pattern.repeat(Math.ceil(bytes / pattern.length)).slice(0, bytes);
}

/** Pretend prompt size: a system prompt plus the prompt's words. */
export function promptTokenCount(prompt: string): number {
  return 24 + (prompt.match(/\S+/g)?.length ?? 0);
}
