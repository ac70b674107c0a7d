import { Server, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { CompletionServiceService } from "../generated/dify/app/v1/completion.js";

/** Serves the completion service on an ephemeral 127.0.0.1 port, prints `{"port":N}`, and exits on SIGTERM. */
export function serveCompletion(impl: UntypedServiceImplementation): void {
  const server = new Server();
  server.addService(CompletionServiceService, impl);
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.stdout.write(`${JSON.stringify({ port })}\n`);
  });
  process.once("SIGTERM", () => {
    server.forceShutdown();
    process.exit(0);
  });
}
