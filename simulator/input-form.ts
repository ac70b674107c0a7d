/**
 * The apps' `user_input_form` (`GET /parameters`) and the check Dify applies to a run's `inputs` against it
 * ([api] core/app/apps/base_app_generator.py `_prepare_user_inputs` / `_validate_inputs`, then the file factory
 * for file variables). Keys the form does not name are ignored, as in Dify.
 */
import { errors } from "./errors.js";
import { isUuid } from "./ids.js";
import { isJsonObject, type JsonObject } from "./validation.js";

export type FormControl = "text-input" | "paragraph" | "select" | "number" | "checkbox" | "file" | "file-list";

export interface FormField {
  label: string;
  variable: string;
  required: boolean;
  default?: unknown;
  max_length?: number;
  options?: string[];
  allowed_file_types?: string[];
  allowed_file_extensions?: string[];
  allowed_file_upload_methods?: string[];
}

/** One `user_input_form` item: `{ "<control>": field }`. */
export type FormItem = Partial<Record<FormControl, FormField>>;

const FILE_TYPES = ["image", "document", "audio", "video", "custom"];

/** A workflow whose start node takes one variable of every kind Dify has, some required. */
export const FORM_APP_FORM: readonly FormItem[] = [
  { "text-input": { label: "Topic", variable: "topic", required: true, max_length: 64, default: "" } },
  { paragraph: { label: "Notes", variable: "notes", required: false, max_length: 500, default: "" } },
  { select: { label: "Tone", variable: "tone", required: true, default: "neutral", options: ["neutral", "friendly", "formal"] } },
  { number: { label: "Count", variable: "count", required: false, default: "" } },
  { checkbox: { label: "Verbose", variable: "verbose", required: false, default: false } },
  {
    file: {
      label: "Cover",
      variable: "cover",
      required: false,
      allowed_file_types: ["image"],
      allowed_file_extensions: [],
      allowed_file_upload_methods: ["local_file", "remote_url"],
    },
  },
  {
    "file-list": {
      label: "Attachments",
      variable: "attachments",
      required: false,
      max_length: 3,
      allowed_file_types: ["document", "image"],
      allowed_file_extensions: [],
      allowed_file_upload_methods: ["local_file", "remote_url"],
    },
  },
];

export function fieldsOf(form: readonly FormItem[]): { control: FormControl; field: FormField }[] {
  return form.flatMap((item) =>
    Object.entries(item).map(([control, field]) => ({ control: control as FormControl, field: field as FormField })),
  );
}

/** Python's `int(s)` or, with a dot, `float(s)` (underscore digit groups aside). */
const PY_INT = /^\s*[+-]?\d+\s*$/;
const PY_FLOAT = /^\s*[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** Python's `str(list)`: `['a', 'b']`. */
function pyList(values: readonly string[]): string {
  return `[${values.map((v) => `'${v}'`).join(", ")}]`;
}

/** Refuses `inputs` as Dify does, with its messages (400 invalid_param). */
export function validateInputsAgainstForm(form: readonly FormItem[], inputs: JsonObject): void {
  for (const { control, field } of fieldsOf(form)) {
    const name = field.variable;
    const value = inputs[name];
    if (value === undefined || value === null) {
      if (field.required) throw errors.invalidParam(`${name} is required in input form`);
      continue;
    }
    if ((control === "text-input" || control === "select" || control === "paragraph") && typeof value !== "string")
      throw errors.invalidParam(`(type '${control}') ${name} in input form must be a string`);
    switch (control) {
      case "number":
        if (typeof value === "string" && value.trim() !== "" && !(value.includes(".") ? PY_FLOAT : PY_INT).test(value))
          throw errors.invalidParam(`${name} in input form must be a valid number`);
        break;
      case "select":
        if (!(field.options ?? []).includes(value as string))
          throw errors.invalidParam(`${name} in input form must be one of the following: ${pyList(field.options ?? [])}`);
        break;
      case "text-input":
      case "paragraph":
        if (field.max_length && [...(value as string)].length > field.max_length)
          throw errors.invalidParam(`${name} in input form must be less than ${field.max_length} characters`);
        break;
      case "file":
        if (!isJsonObject(value)) throw errors.invalidParam(`${name} in input form must be a file`);
        checkFile(value, field);
        break;
      case "file-list":
        if (!Array.isArray(value) || !value.every(isJsonObject)) throw errors.invalidParam(`${name} in input form must be a list of files`);
        if (field.max_length && value.length > field.max_length)
          throw errors.invalidParam(`${name} in input form must be less than ${field.max_length} files`);
        for (const file of value) checkFile(file, field);
        break;
      case "checkbox":
        if (typeof value !== "boolean") throw errors.invalidParam(`${name} in input form must be a valid boolean value`);
        break;
    }
  }
}

/** The file factory's checks of one file mapping against the variable's settings. */
function checkFile(file: JsonObject, field: FormField): void {
  const type = file["type"];
  if (typeof type !== "string" || !FILE_TYPES.includes(type))
    throw errors.invalidParam(`No matching enum found for value '${String(type)}'`);
  const method = file["transfer_method"];
  if (method !== "local_file" && method !== "remote_url") throw errors.invalidParam(`No matching enum found for value '${String(method)}'`);
  if (field.allowed_file_upload_methods && !field.allowed_file_upload_methods.includes(method))
    throw errors.invalidParam(`File transfer method ${method} is not allowed`);
  if (field.allowed_file_types && !field.allowed_file_types.includes(type))
    throw errors.invalidParam("Detected file type does not match the specified type. Please verify the file.");
  if (method === "local_file") {
    const id = file["upload_file_id"];
    if (typeof id !== "string" || !isUuid(id)) throw errors.invalidParam("Invalid upload file id");
  } else {
    const url = file["url"];
    if (typeof url !== "string" || !/^https?:\/\/\S+$/i.test(url)) throw errors.invalidParam("Invalid file url");
  }
}
