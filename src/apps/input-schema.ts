/**
 * A JSON Schema (draft 2020-12) of a run's `inputs`, derived from the app's `user_input_form` (GET /parameters)
 * the way Dify checks inputs against it ([api] base_app_generator.py `_validate_inputs`, then the file factory):
 * - a missing or null value is refused only when the variable is required, so optional variables also take null;
 * - text-input, paragraph and select take strings; select one of its options; max_length counts characters;
 * - number takes a number or a numeric string (Python's int(), or float() when it has a dot; blank means unset);
 *   bounds are stated when the form gives them (`min`, `max`), though Dify does not enforce them itself;
 * - checkbox takes a boolean; file one file object, file-list a list of at most max_length;
 * - keys the form does not name are ignored (additionalProperties stays open).
 * Dify passes a non-string value of a number variable on unchecked; the schema asks for a number there.
 */

type Json = Record<string, unknown>;

const FILE_TYPES = ["image", "document", "audio", "video", "custom"];
const TRANSFER_METHODS = ["local_file", "remote_url"];
const UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/** Blank, Python int() or Python float() with a dot; what Dify turns into a number. */
const NUMERIC = "^\\s*$|^\\s*[+-]?\\d+\\s*$|^\\s*[+-]?(?:\\d+\\.\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?\\s*$";

export const JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema";

export function inputSchema(userInputForm: unknown): Json {
  const properties: Json = {};
  const required: string[] = [];
  for (const item of Array.isArray(userInputForm) ? userInputForm : []) {
    if (!isObject(item)) continue;
    for (const [control, field] of Object.entries(item)) {
      if (!isObject(field) || typeof field.variable !== "string" || field.variable === "") continue;
      const schema = controlSchema(control, field);
      if (!schema) continue;
      const isRequired = field.required === true;
      properties[field.variable] = isRequired ? schema : nullable(schema);
      if (isRequired) required.push(field.variable);
    }
  }
  return { $schema: JSON_SCHEMA_2020_12, type: "object", properties, required };
}

function controlSchema(control: string, field: Json): Json | undefined {
  const described = { ...(typeof field.label === "string" && field.label !== "" ? { title: field.label } : {}) };
  const maxLength = positiveInt(field.max_length);
  switch (control) {
    case "text-input":
    case "paragraph":
      return { ...described, type: "string", ...(maxLength ? { maxLength } : {}) };
    case "select":
      return { ...described, type: "string", enum: stringList(field.options) };
    case "number":
      return {
        ...described,
        type: ["number", "string"],
        pattern: NUMERIC,
        ...(isNumber(field.min) ? { minimum: field.min } : {}),
        ...(isNumber(field.max) ? { maximum: field.max } : {}),
      };
    case "checkbox":
      return { ...described, type: "boolean" };
    case "file":
      return { ...described, ...fileSchema(field) };
    case "file-list":
      return { ...described, type: "array", items: fileSchema(field), ...(maxLength ? { maxItems: maxLength } : {}) };
    case "json_object":
      return { ...described, type: "object" };
    default:
      // external_data_tool and controls this version does not know: Dify fills or checks them itself.
      return undefined;
  }
}

/** A file object as Dify's file factory takes it: an uploaded file's id, or a URL. */
function fileSchema(field: Json): Json {
  const types = stringList(field.allowed_file_types).filter((t) => FILE_TYPES.includes(t));
  const methods = stringList(field.allowed_file_upload_methods).filter((m) => TRANSFER_METHODS.includes(m));
  const allowedTypes = types.length > 0 ? types : FILE_TYPES;
  const allowedMethods = methods.length > 0 ? methods : TRANSFER_METHODS;
  const branches: Json[] = [];
  if (allowedMethods.includes("local_file"))
    branches.push({
      properties: { transfer_method: { const: "local_file" }, upload_file_id: { type: "string", pattern: UUID } },
      required: ["upload_file_id"],
    });
  if (allowedMethods.includes("remote_url"))
    branches.push({
      properties: { transfer_method: { const: "remote_url" }, url: { type: "string", pattern: "^[Hh][Tt][Tt][Pp][Ss]?://\\S+$" } },
      required: ["url"],
    });
  return {
    type: "object",
    properties: { type: { enum: allowedTypes }, transfer_method: { enum: allowedMethods } },
    required: ["type", "transfer_method"],
    oneOf: branches,
  };
}

function nullable(schema: Json): Json {
  const type = schema.type;
  // A file's branches would both match null (their keywords only apply to objects), failing its oneOf.
  if (schema.oneOf) return { anyOf: [schema, { type: "null" }] };
  if (typeof type === "string")
    return { ...schema, type: [type, "null"], ...(schema.enum ? { enum: [...(schema.enum as unknown[]), null] } : {}) };
  if (Array.isArray(type)) return { ...schema, type: [...type, "null"] };
  return { anyOf: [schema, { type: "null" }] };
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
