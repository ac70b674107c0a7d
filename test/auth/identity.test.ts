import type { PeerCertificate } from "node:tls";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { certSpiffeIds, xfccSpiffeIds } from "../../src/auth/identity.js";

describe("x-forwarded-client-cert", () => {
  it("reads the URI of an Istio sidecar's element", () => {
    const header = 'By=spiffe://cluster.local/ns/gw/sa/gateway;Hash=3f1c0a;Subject="";URI=spiffe://cluster.local/ns/plugins/sa/acme';
    expect(xfccSpiffeIds(header)).toEqual(["spiffe://cluster.local/ns/plugins/sa/acme"]);
  });

  it("trusts only the last element, the one our own sidecar appended", () => {
    const forged = "URI=spiffe://cluster.local/ns/plugins/sa/victim";
    const real = "By=spiffe://cluster.local/ns/gw/sa/gateway;URI=spiffe://cluster.local/ns/plugins/sa/acme";
    expect(xfccSpiffeIds(`${forged},${real}`)).toEqual(["spiffe://cluster.local/ns/plugins/sa/acme"]);
  });

  it("keeps separators inside quoted values and unescapes them", () => {
    const header = 'Subject="CN=acme,OU=plugins;x=\\"y\\"";URI="spiffe://cluster.local/ns/a/sa/b";DNS=acme.local';
    expect(xfccSpiffeIds(header)).toEqual(["spiffe://cluster.local/ns/a/sa/b"]);
  });

  it("ignores keys other than URI, non-SPIFFE URIs and garbage", () => {
    expect(xfccSpiffeIds("By=spiffe://cluster.local/ns/gw/sa/gateway;Hash=ab")).toEqual([]);
    expect(xfccSpiffeIds("URI=https://example.com/not-spiffe")).toEqual([]);
    expect(xfccSpiffeIds(';;,=,"unterminated')).toEqual([]);
    expect(xfccSpiffeIds("")).toEqual([]);
  });

  it("reads the key case-insensitively and every URI of the element", () => {
    expect(xfccSpiffeIds("uri=spiffe://td/a;URI=spiffe://td/b")).toEqual(["spiffe://td/a", "spiffe://td/b"]);
  });
});

describe("client certificate URI SANs", () => {
  const cert = (subjectaltname: string | undefined) => ({ subjectaltname }) as PeerCertificate;

  it("returns the SPIFFE URIs among the SANs", () => {
    expect(certSpiffeIds(cert("DNS:acme.local, URI:spiffe://cluster.local/ns/plugins/sa/acme, URI:https://x"))).toEqual([
      "spiffe://cluster.local/ns/plugins/sa/acme",
    ]);
  });

  it("reads values Node quoted because they contain a comma", () => {
    expect(certSpiffeIds(cert('URI:"spiffe://td/a,b", DNS:x'))).toEqual(["spiffe://td/a,b"]);
  });

  it("has nothing without a verified certificate", () => {
    expect(certSpiffeIds(undefined)).toEqual([]);
    expect(certSpiffeIds(cert(undefined))).toEqual([]);
  });
});

describe("never throws, whatever the header holds", () => {
  it("parses arbitrary XFCC and SAN text into SPIFFE IDs only", () => {
    const alphabet = fc.constantFrom(...'URI=spiffe://td/a;,"\\ By=DNS:x'.split(""));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: alphabet, maxLength: 80 }), fc.string({ unit: "grapheme", maxLength: 80 })), (text) => {
        for (const id of [...xfccSpiffeIds(text), ...certSpiffeIds({ subjectaltname: text } as PeerCertificate)])
          expect(id.startsWith("spiffe://")).toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });
});
