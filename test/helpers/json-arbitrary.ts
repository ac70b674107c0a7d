import fc from "fast-check";

/** Strings as JSON.parse can build them, lone surrogates ("\ud800" escapes) and long ones included. */
export const jsonText = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "binary", minLength: 200, maxLength: 400 }),
);

// No `__proto__` key at any depth: the generated Struct.wrap assigns it as the prototype (drops it), the
// hand-written Struct encoder keeps it as Dify sent it; fast-check's strings produce it on purpose.
/** Object keys: arbitrary strings, Dify's usual keys and numeric ones (which objects list first). */
export const jsonKey = fc
  .oneof(
    jsonText,
    fc.constantFrom("", "0", "1", "10", "answer", "data", "metadata", "usage", "outputs", "event", "task_id"),
    fc.nat().map(String),
  )
  .filter((k) => k !== "__proto__");

/** Numbers JSON.parse can produce, with the edges of doubles and of protobuf's integer types. */
export const jsonNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 2 ** 53 + 2, -(2 ** 63), 1e300, 5e-324, Number.MAX_SAFE_INTEGER, 1.2345678901234567e19),
);

/** Any JSON value, as JSON.parse builds it: what Dify's events and blocking answers are made of. */
export const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    jsonNumber,
    jsonText,
    fc.array(tie("json"), { maxLength: 6 }),
    fc.dictionary(jsonKey, tie("json"), { maxKeys: 6 }),
  ),
}));
