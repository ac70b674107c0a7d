import { connect, createServer, type Server, type Socket } from "node:net";

/** A TCP proxy whose target can change: new connections go to the current target, open ones stay where they are. */
export class SwitchingProxy {
  target = "";
  readonly #sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<SwitchingProxy> {
    const server = createServer();
    const proxy = new SwitchingProxy(server);
    server.on("connection", (client) => proxy.#pipe(client));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  #pipe(client: Socket): void {
    const [host, port] = this.target.split(":");
    const upstream = connect(Number(port), host);
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}
