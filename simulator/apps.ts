import { errors } from "./errors.js";
import { FORM_APP_FORM, type FormItem } from "./input-form.js";
import type { AppMode, SimulatorApp } from "./types.js";

/** One demo app per mode. Ids and keys are fixed so demos and configs can name them. */
export const DEMO_APPS: readonly SimulatorApp[] = Object.freeze(
  [
    { appId: "a1c00000-0000-4000-8000-000000000001", key: "app-sim-chat-3f9a1c", mode: "chat", name: "Demo Chatbot" },
    { appId: "a1c00000-0000-4000-8000-000000000002", key: "app-sim-agentchat-7b2e4d", mode: "agent-chat", name: "Demo Agent" },
    { appId: "a1c00000-0000-4000-8000-000000000003", key: "app-sim-chatflow-5c8d2a", mode: "advanced-chat", name: "Demo Chatflow" },
    { appId: "a1c00000-0000-4000-8000-000000000004", key: "app-sim-workflow-9e1f6b", mode: "workflow", name: "Demo Workflow" },
    { appId: "a1c00000-0000-4000-8000-000000000005", key: "app-sim-completion-2d7a9e", mode: "completion", name: "Demo Text Generator" },
    { appId: "a1c00000-0000-4000-8000-000000000006", key: "app-sim-newagent-4a6c1f", mode: "agent", name: "Demo New Agent" },
    // A second workflow whose start node takes a variable of every kind, some required (DescribeApp's input schema).
    {
      appId: "a1c00000-0000-4000-8000-000000000007",
      key: "app-sim-formflow-8d3b5e",
      mode: "workflow",
      name: "Demo Form Workflow",
      form: FORM_APP_FORM,
    },
    // Dify 1.16: Human Input nodes (one pause, two pauses in a row, a Chatflow) and separated reasoning.
    {
      appId: "a1c00000-0000-4000-8000-000000000008",
      key: "app-sim-approval-6d3b8e",
      mode: "workflow",
      name: "Demo Approval Workflow",
      humanInput: { pauses: 1 },
    },
    {
      appId: "a1c00000-0000-4000-8000-000000000009",
      key: "app-sim-twostep-1e5f7a",
      mode: "workflow",
      name: "Demo Two-Step Approval",
      humanInput: { pauses: 2 },
    },
    {
      appId: "a1c00000-0000-4000-8000-00000000000a",
      key: "app-sim-approvalchat-8c2d4f",
      mode: "advanced-chat",
      name: "Demo Approval Chatflow",
      humanInput: { pauses: 1 },
    },
    {
      appId: "a1c00000-0000-4000-8000-00000000000b",
      key: "app-sim-reasoning-3a9e5b",
      mode: "advanced-chat",
      name: "Demo Reasoning Chatflow",
      reasoning: true,
    },
  ].map((app) => Object.freeze(app as SimulatorApp)),
);

/** Modes served by `POST /v1/chat-messages`; they all have conversations and message ids. */
export function isChatLike(mode: AppMode): boolean {
  return mode === "chat" || mode === "agent-chat" || mode === "advanced-chat" || mode === "agent";
}

/** Modes that run a workflow graph: their streams start with a ping and carry workflow/node events. */
export function isWorkflowBased(mode: AppMode): boolean {
  return mode === "workflow" || mode === "advanced-chat";
}

const DESCRIPTIONS: Record<AppMode, string> = {
  chat: "Simulated chatbot that echoes your question.",
  "agent-chat": "Simulated agent that calls one tool, then answers (streaming only).",
  "advanced-chat": "Simulated chatflow: start, LLM and answer nodes.",
  workflow: 'Simulated workflow: start, LLM and end nodes; outputs {"text"}.',
  completion: "Simulated text generator that echoes the query input.",
  agent: "Simulated New Agent app (beta; streaming only).",
};

/** `GET /v1/info`. */
function describe(app: SimulatorApp): string {
  if (app.humanInput)
    return `Simulated ${app.mode === "workflow" ? "workflow" : "chatflow"}: start, LLM, ${app.humanInput.pauses} Human Input node(s), then ${app.mode === "workflow" ? "end" : "answer"}.`;
  if (app.reasoning) return "Simulated chatflow whose LLM node streams its reasoning separately (reasoning_chunk).";
  return DESCRIPTIONS[app.mode];
}

export function appInfo(app: SimulatorApp): Record<string, unknown> {
  const description = app.form ? "Simulated workflow whose start node takes one variable of every kind." : describe(app);
  return { name: app.name, description, tags: ["simulator"], mode: app.mode, author_name: "Dify Simulator" };
}

/** The app's `user_input_form`, which the run endpoints check `inputs` against. */
export function userInputForm(app: SimulatorApp): readonly FormItem[] {
  return app.form ?? formByMode(app.mode);
}

function formByMode(mode: AppMode): FormItem[] {
  switch (mode) {
    case "workflow":
      return [
        { "text-input": { label: "Query", variable: "query", required: false, max_length: 2048, default: "" } },
        { select: { label: "Tone", variable: "tone", required: false, default: "neutral", options: ["neutral", "friendly", "formal"] } },
      ];
    case "completion":
      return [{ paragraph: { label: "Query", variable: "query", required: false, default: "" } }];
    default:
      return [{ "text-input": { label: "Name", variable: "name", required: false, max_length: 48, default: "" } }];
  }
}

/** `GET /v1/parameters`, shaped like Dify's (see the contract, section 5). */
export function appParameters(app: SimulatorApp): Record<string, unknown> {
  const chatLike = isChatLike(app.mode);
  return {
    opening_statement: chatLike ? `Hello! I am ${app.name}, a simulated Dify app.` : null,
    suggested_questions: chatLike ? ["What can you do?"] : [],
    suggested_questions_after_answer: { enabled: false },
    speech_to_text: { enabled: false },
    text_to_speech: { enabled: false, voice: "", language: "", autoPlay: "disabled" },
    retriever_resource: { enabled: app.mode === "chat" },
    annotation_reply: { enabled: false },
    more_like_this: { enabled: false },
    sensitive_word_avoidance: { enabled: false },
    user_input_form: userInputForm(app),
    file_upload: {
      image: { enabled: true, number_limits: 3, detail: "high", transfer_methods: ["remote_url", "local_file"] },
    },
    system_parameters: {
      file_size_limit: 15,
      image_file_size_limit: 10,
      audio_file_size_limit: 50,
      video_file_size_limit: 100,
      workflow_file_upload_limit: 10,
    },
  };
}

/** The three generation interfaces (route families) of the Service API. */
export type ApiInterface = "chat" | "completion" | "workflow";

/** Sending an app to the wrong route gives these codes ([api] completion.py, workflow.py). */
export function assertServedBy(app: SimulatorApp, api: ApiInterface): void {
  if (api === "chat" && !isChatLike(app.mode)) throw errors.notChatApp();
  if (api === "workflow" && app.mode !== "workflow") throw errors.notWorkflowApp();
  if (api === "completion" && app.mode !== "completion") throw errors.appUnavailable();
}
