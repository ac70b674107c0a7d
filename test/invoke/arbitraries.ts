import fc from "fast-check";

/** One UTF-16 "unit" of test text: any code point, a lone surrogate, or a character JSON must escape. */
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  {
    weight: 3,
    arbitrary: fc
      .integer({ min: 0, max: 0x10ffff })
      .filter((c) => c < 0xd800 || c > 0xdfff)
      .map((c) => String.fromCodePoint(c)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom("\0", "\n", "\r", '"', "\\", "\u2028", "\ufeff", "🚀", "é", "日", "\u{10ffff}") },
);

export const text = fc.string({ unit, maxLength: 24 });

/** 100k to 1M UTF-16 units: rare and at one place per request, so 10,000 cases stay quick. */
export const hugeText = fc
  .tuple(fc.string({ unit, minLength: 1, maxLength: 8 }), fc.integer({ min: 100_000, max: 1_000_000 }))
  .map(([s, n]) => s.repeat(Math.ceil(n / s.length)));

/** Keys Object-literal code gets wrong, besides random text. */
export const key = fc.oneof(
  { weight: 8, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "", "0", "a.b", "[x]") },
);

/** Builds an object with every key as an own property, `__proto__` included, as JSON.parse does. */
export function ownObject(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
  return o;
}

/** Any JSON-ish value, plus the numbers JSON cannot carry (fc.double yields NaN, ±Infinity and -0). */
export const { value: jsonish } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    text,
    fc.array(tie("value"), { maxLength: 6 }),
    fc.array(fc.tuple(key, tie("value")), { maxLength: 6 }).map(ownObject),
  ),
}));

/** A value nested `levels` containers deep, each an object or a list (keys cycle through a few), around a random leaf. */
export const deep = fc
  .tuple(fc.integer({ min: 1, max: 160 }), fc.array(fc.tuple(fc.boolean(), key), { minLength: 1, maxLength: 6 }), jsonish)
  .map(([levels, shape, leaf]) => {
    let v: unknown = leaf;
    for (let i = 0; i < levels; i++) {
      const [isList, k] = shape[i % shape.length] as [boolean, string];
      v = isList ? [v] : ownObject([[k, v]]);
    }
    return v;
  });

/** Many keys in one object: a few random keys and values, repeated under numbered variants of the keys. */
export const wide = fc
  .tuple(fc.array(fc.tuple(key, jsonish), { minLength: 1, maxLength: 8 }), fc.integer({ min: 50, max: 200 }))
  .map(([entries, n]) =>
    ownObject(
      Array.from({ length: n }, (_, i) => {
        const [k, v] = entries[i % entries.length] as [string, unknown];
        return [i < entries.length ? k : `${k}${i}`, v] as const;
      }),
    ),
  );

/** google.protobuf.Struct contents: the `inputs` of a request. */
export const inputs = fc.oneof(
  { weight: 72, arbitrary: fc.array(fc.tuple(key, jsonish), { maxLength: 8 }).map(ownObject) },
  { weight: 18, arbitrary: fc.tuple(key, deep).map(([k, v]) => ownObject([[k, v]])) },
  { weight: 3, arbitrary: wide },
  {
    weight: 1,
    arbitrary: fc.tuple(key, hugeText, key).map(([k, v, k2]) =>
      ownObject([
        [k, v],
        [k2, [v.slice(0, 1000)]],
      ]),
    ),
  },
);

const uuid = fc.uuid();
/** Valid ids, ids that look like them and are not, and strings of any length. */
export const appId = fc.oneof(
  fc.constantFrom("", " ", "\t\n", "a", "x".repeat(256), "x".repeat(257)),
  uuid,
  text,
  fc.integer({ min: 257, max: 100_000 }).map((n) => "a".repeat(n)),
);
export const conversationId = fc.oneof(
  fc.constant(""),
  uuid,
  uuid.map((u) => u.toUpperCase()),
  uuid.map((u) => `${u}x`),
  uuid.map((u) => u.replace(/-/g, "")),
  uuid.map((u) => `{${u}}`),
  text,
  fc.integer({ min: 37, max: 20_000 }).map((n) => "0".repeat(n)),
);
export const query = fc.oneof(
  { weight: 120, arbitrary: text },
  { weight: 1, arbitrary: hugeText },
  { weight: 24, arbitrary: fc.constantFrom("", " ", "\u3000", "\n\t") },
);

const fileType = fc.oneof(fc.constantFrom("image", "document", "audio", "video", "custom"), text);
const transferMethod = fc.oneof(fc.constantFrom("remote_url", "local_file"), text);
export const files = fc.array(
  fc.record({
    type: fileType,
    transferMethod,
    url: fc.oneof(fc.constant(""), fc.webUrl(), text),
    uploadFileId: fc.oneof(fc.constant(""), uuid, text),
  }),
  { maxLength: 4 },
);
