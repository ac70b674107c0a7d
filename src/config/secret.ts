import { inspect } from "node:util";

/**
 * Holds an app key. Serializers and inspectors only ever see "[redacted]",
 * so a key cannot reach a log line or an error by accident.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
  [inspect.custom](): string {
    return "[redacted]";
  }
}
