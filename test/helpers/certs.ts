import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pem {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/** A throwaway CA, made with the openssl CLI, that signs a server certificate for 127.0.0.1 and client certificates with SPIFFE URI SANs. */
export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), "gw-certs-"));
  readonly ca: Pem;

  constructor() {
    this.ca = this.#files("ca");
    openssl([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=test-ca",
      "-keyout",
      this.ca.keyFile,
      "-out",
      this.ca.certFile,
    ]);
    this.#load(this.ca);
  }

  server(): Pem {
    return this.issue("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth");
  }

  client(name: string, spiffeId: string): Pem {
    return this.issue(name, `/CN=${name}`, `subjectAltName=URI:${spiffeId}\nextendedKeyUsage=clientAuth`);
  }

  issue(name: string, subject: string, extensions: string): Pem {
    const { pem, csr } = this.#request(name, subject);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(ext, `${extensions}\n`);
    openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      this.ca.certFile,
      "-CAkey",
      this.ca.keyFile,
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      ext,
      "-out",
      pem.certFile,
    ]);
    return this.#load(pem);
  }

  /** A server certificate that expired long ago (valid 2000-2001): `openssl ca` is what takes explicit dates. */
  expiredServer(): Pem {
    const { pem, csr } = this.#request("expired", "/CN=127.0.0.1");
    const cnf = join(this.dir, "ca.cnf");
    writeFileSync(join(this.dir, "index.txt"), "");
    writeFileSync(join(this.dir, "serial"), "01\n");
    writeFileSync(
      cnf,
      `[ca]\ndefault_ca=d\n[d]\ndatabase=${this.dir}/index.txt\nnew_certs_dir=${this.dir}\nserial=${this.dir}/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n`,
    );
    openssl([
      "ca",
      "-batch",
      "-config",
      cnf,
      "-cert",
      this.ca.certFile,
      "-keyfile",
      this.ca.keyFile,
      "-in",
      csr,
      "-out",
      pem.certFile,
      "-startdate",
      "20000101000000Z",
      "-enddate",
      "20010101000000Z",
      "-notext",
    ]);
    return this.#load(pem);
  }

  /** A new key and a certificate request for `subject`. */
  #request(name: string, subject: string): { pem: Pem; csr: string } {
    const pem = this.#files(name);
    const csr = join(this.dir, `${name}.csr`);
    openssl([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      subject,
      "-keyout",
      pem.keyFile,
      "-out",
      csr,
    ]);
    return { pem, csr };
  }

  #files(name: string): Pem {
    return { certFile: join(this.dir, `${name}.pem`), keyFile: join(this.dir, `${name}.key`), cert: Buffer.alloc(0), key: Buffer.alloc(0) };
  }

  #load(pem: Pem): Pem {
    pem.cert = readFileSync(pem.certFile);
    pem.key = readFileSync(pem.keyFile);
    return pem;
  }
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}
