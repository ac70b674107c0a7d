import type { AppMode } from "../config/schema.js";
import { APP_MODE, checkRequest, type Invoke } from "../core/invoke.js";
import type { Aggregator } from "../invoke/aggregate.js";
import { withInputsDecoder } from "../invoke/decode.js";
import type { InputsLimits } from "../invoke/inputs.js";
import type { InterfaceSpec } from "../invoke/interfaces.js";
import type { InvokeRequest } from "../invoke/request.js";
import { type StreamMessage, toStreamMessage } from "../translate/events.js";
import { streamResponseSerializer } from "../translate/stream-encoding.js";
import { type Route, route } from "../transport/route.js";

/** Bounds read per call, so a reloaded config applies to the next call. */
export interface CallLimits {
  readonly maxAnswerBytes: number;
  readonly inputs: InputsLimits;
}

/** `XInvoke`: the run's events folded by the interface's aggregator into the blocking-mode answer. */
export function invokeUnary(spec: InterfaceSpec, invoke: Invoke, limits: () => CallLimits): Route {
  return route<InvokeRequest, object>({
    definition: withInputsDecoder(spec.service, () => limits().inputs)[spec.unaryMethod]!,
    checkRequest: (req, ctx) => void checkRequest(spec, req, ctx),
    async *handler(req, ctx) {
      let aggregate: Aggregator | undefined;
      const aggregator = (mode: AppMode) => spec.aggregator(mode, limits().maxAnswerBytes);
      const events = invoke(spec, req, ctx);
      try {
        for (let next = await events.next(); ; next = await events.next()) {
          if (next.done) {
            aggregate ??= aggregator(next.value.mode ?? spec.kind);
            return spec.unaryResponse(aggregate.result(), aggregate.extras());
          }
          // The mode is known before the first event (the core resolves it first).
          aggregate ??= aggregator(ctx.values.get(APP_MODE) ?? spec.kind);
          aggregate.add(next.value);
        }
      } finally {
        // An answer over its bound throws here: closing the run's generator stops the run on Dify.
        await events.return(undefined as never);
      }
    },
  });
}

/** `XInvokeStream`: one message per Dify event, in order. */
export function invokeStream(spec: InterfaceSpec, invoke: Invoke, limits: () => CallLimits): Route {
  const definition = withInputsDecoder(spec.service, () => limits().inputs)[spec.streamMethod]!;
  return route<InvokeRequest, StreamMessage>({
    definition: { ...definition, responseSerialize: streamResponseSerializer(spec.streamResponseEncode) },
    checkRequest: (req, ctx) => void checkRequest(spec, req, ctx),
    async *handler(req, ctx) {
      for await (const ev of invoke(spec, req, ctx)) yield toStreamMessage(ev, spec.typedEvents);
    },
  });
}
