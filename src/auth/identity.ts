import type { PeerCertificate } from "node:tls";

/*
 * Mesh identities arrive in two text formats: Node's `subjectaltname` string and
 * Envoy's x-forwarded-client-cert header. Both quote values that contain their
 * separators. No maintained npm package parses XFCC, so this small reader does.
 */

const SPIFFE = /^spiffe:\/\//;

/** SPIFFE IDs among the URI SANs of a client certificate that the TLS layer has verified. */
export function certSpiffeIds(cert: PeerCertificate | undefined): string[] {
  const san = cert?.subjectaltname;
  if (!san) return [];
  return split(san, ",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith("URI:"))
    .map((entry) => unquote(entry.slice(4)))
    .filter((uri) => SPIFFE.test(uri));
}

/**
 * SPIFFE IDs in the last element of x-forwarded-client-cert. Each proxy hop
 * appends one element, so the last one describes the peer our own sidecar
 * verified; earlier elements were written by hops we cannot vouch for.
 */
export function xfccSpiffeIds(header: string): string[] {
  const elements = split(header, ",");
  const last = elements[elements.length - 1] ?? "";
  const ids: string[] = [];
  for (const pair of split(last, ";")) {
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim().toLowerCase() !== "uri") continue;
    const uri = unquote(pair.slice(eq + 1).trim());
    if (SPIFFE.test(uri)) ids.push(uri);
  }
  return ids;
}

/** Splits on `sep` outside double quotes, where a backslash escapes the next character. */
function split(text: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, "$1");
}
