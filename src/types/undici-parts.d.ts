// Types for the undici files src/dify/undici.ts requires directly: the same objects undici's index exports.
declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici";

  const agent: typeof Agent;
  export default agent;
}
declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";

  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}
declare module "undici/lib/core/errors.js" {
  import type { errors } from "undici";

  const e: typeof errors;
  export default e;
}
declare module "undici/lib/core/connect.js" {
  import type { buildConnector } from "undici";

  const b: typeof buildConnector;
  export default b;
}
