/** Dify's error envelope `{code, message, status}` and the errors the simulator raises. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  body(): { code: string; message: string; status: number } {
    return { code: this.code, message: this.message, status: this.status };
  }
}

/** Every 401 from Dify carries this challenge ([api] libs/external_api.py). */
const UNAUTHORIZED_HEADERS = { "WWW-Authenticate": 'Bearer realm="api"' };

const ROUTE_MISMATCH = "Please check if your app mode matches the right API route.";

export const errors = {
  unauthorized: (message: string) => new ApiError(401, "unauthorized", message, UNAUTHORIZED_HEADERS),
  invalidParam: (message: string) => new ApiError(400, "invalid_param", message),
  badRequest: (message: string) => new ApiError(400, "bad_request", message),
  notChatApp: () => new ApiError(400, "not_chat_app", ROUTE_MISMATCH),
  notWorkflowApp: () => new ApiError(400, "not_workflow_app", ROUTE_MISMATCH),
  /** The completion route answers `app_unavailable` on a mode mismatch (`not_completion_app` exists but is unused). */
  appUnavailable: () => new ApiError(400, "app_unavailable", "App unavailable, please check your app configurations."),
  // Dify 1.13+ runs and 1.16 human input ([spec] streamWorkflowEvents, getWorkflowRunDetail, *HumanInputForm).
  workflowRunNotFound: () => new ApiError(404, "not_found", "Workflow run not found"),
  workflowRunDetailNotFound: () => new ApiError(404, "not_found", "Workflow run not found."),
  workflowNotFound: () => new ApiError(404, "not_found", "Workflow not found"),
  formNotFound: () => new ApiError(404, "not_found", "Form not found"),
  formSubmitted: (formId: string) =>
    new ApiError(412, "human_input_form_submitted", `This form has already been submitted by another user, form_id=${formId}`),
  formExpired: (formId: string) => new ApiError(412, "human_input_form_expired", `This form has expired, form_id=${formId}`),
  invalidFormData: (message: string) => new ApiError(400, "invalid_form_data", message),
  conversationNotExists: () => new ApiError(404, "not_found", "Conversation Not Exists."),
  invalidJson: () => new ApiError(400, "invalid_param", "Invalid JSON payload received or JSON payload is empty."),
  userRequired: () => new ApiError(400, "invalid_param", "Arg user must be provided."),
  // werkzeug's default descriptions, which Dify passes through for plain HTTP exceptions.
  urlNotFound: () =>
    new ApiError(
      404,
      "not_found",
      "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
    ),
  methodNotAllowed: (allowed: string) =>
    new ApiError(405, "method_not_allowed", "The method is not allowed for the requested URL.", { Allow: allowed }),
  payloadTooLarge: () => new ApiError(413, "request_entity_too_large", "The data value transmitted exceeds the capacity limit."),
  internal: () =>
    new ApiError(
      500,
      "internal_server_error",
      "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.",
    ),
};

/** The code Dify would attach to an error of this HTTP status when none is given. */
export function defaultCodeFor(status: number): string {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "too_many_requests";
  if (status >= 500) return "internal_server_error";
  return "invalid_param";
}
