import type { AppMode } from "../config/schema.js";
import { APP_MODE, checkRequest, type Invoke } from "../core/invoke.js";
import type { Aggregator } from "../invoke/aggregate.js";
import { withInputsDecoder } from "../invoke/decode.js";
import type { InputsLimits } from "../invoke/inputs.js";
import type { InterfaceSpec } from "../invoke/interfaces.js";
import type { InvokeRequest } from "../invoke/request.js";
import type { DifyEvent } from "../sse/decoder.js";
import { toStreamMessage } from "../translate/events.js";
import { fittingIntegers } from "../translate/fit-integers.js";
import { streamResponseSerializer } from "../translate/stream-encoding.js";
import { type UnaryResponse, unaryResponseSerializer } from "../translate/unary-encoding.js";
import { type Route, route, streamRoute } from "../transport/route.js";

/** Bounds read per call, so a reloaded config applies to the next call. */
export interface CallLimits {
  readonly maxAnswerBytes: number;
  readonly inputs: InputsLimits;
}

/** `XInvoke`: the run's events folded by the interface's aggregator into the blocking-mode answer. */
export function invokeUnary(spec: InterfaceSpec, invoke: Invoke, limits: () => CallLimits): Route {
  const definition = withInputsDecoder(spec.service, () => limits().inputs)[spec.unaryMethod]!;
  return route<InvokeRequest, UnaryResponse>({
    definition: { ...definition, responseSerialize: unaryResponseSerializer(spec.unaryResponseEncode) },
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
          for (const ev of next.value) aggregate.add(ev);
        }
      } finally {
        // An answer over its bound throws here: closing the run's generator stops the run on Dify.
        await events.return(undefined as never);
      }
    },
  });
}

/**
 * `XInvokeStream`: one message per Dify event, in order. The handler is the run's own generator, which yields the
 * events in batches, and the route's serializer turns each event into its message: mapping them in a handler
 * generator cost one more async-generator hop per event (an awaited `next` and a `yield`; docs/PERFORMANCE.md,
 * "Issue 18, third pass"). The run's summary, the generator's return value, reaches the adapter, which ignores what
 * a stream returns.
 */
export function invokeStream(spec: InterfaceSpec, invoke: Invoke, limits: () => CallLimits): Route {
  const definition = withInputsDecoder(spec.service, () => limits().inputs)[spec.streamMethod]!;
  const serialize = fittingIntegers(definition.path, streamResponseSerializer(spec.streamResponseEncode));
  return streamRoute<InvokeRequest, DifyEvent>({
    definition: {
      ...definition,
      responseStream: true,
      responseSerialize: (ev: DifyEvent) => serialize(toStreamMessage(ev, spec.typedEvents)),
    },
    checkRequest: (req, ctx) => void checkRequest(spec, req, ctx),
    handler: (req, ctx) =>
      invoke(spec, req, ctx, { tail: true }) as AsyncGenerator<readonly DifyEvent[], unknown, undefined> as AsyncGenerator<
        readonly DifyEvent[],
        void,
        undefined
      >,
  });
}
