/** The event sequence of each app mode ([api] generate_task_pipeline.py per mode; contract section 3.4). */
import { isWorkflowBased } from "./apps.js";
import { answerEvent, dataEvent, errorEvent, messageEndEvent, type SimEvent } from "./events.js";
import { randomUUID } from "./ids.js";
import type { Run } from "./run.js";
import { deltaPhase, eventStep, type PhaseResult, PING, type Step } from "./steps.js";
import type { AppMode } from "./types.js";
import {
  humanInputNode,
  humanInputPause,
  inputsWithSystemVariables,
  NODES,
  type NodeTrace,
  type RunFinish,
  traceOf,
  workflowFinishedEvent,
  workflowStartedEvent,
} from "./workflow-events.js";

type Script = (run: Run) => AsyncGenerator<Step, void>;

/** All steps of a run, in order. */
export async function* runSteps(run: Run): AsyncGenerator<Step, void> {
  const fault = run.directives.fault;
  // Workflow-based streams are relayed from a worker and open with a ping before anything else.
  if (isWorkflowBased(run.app.mode) || fault?.kind === "first_ping") yield PING;
  if (fault?.kind === "pings_only") {
    if (fault.pings === null) {
      yield { kind: "pings_forever", everyMs: fault.pingEveryMs };
      return;
    }
    // A worker that kept the stream alive, then died without closing it: only an idle timeout ends this.
    for (let i = 0; i < fault.pings; i++) {
      await run.control.pause(fault.pingEveryMs);
      if (run.control.abandoned) return;
      yield PING;
    }
    yield { kind: "silence" };
    return;
  }
  yield* SCRIPTS[run.app.mode](run);
}

const SCRIPTS: Record<AppMode, Script> = {
  chat: messageScript,
  completion: messageScript,
  "agent-chat": agentChatScript,
  agent: newAgentScript,
  "advanced-chat": graphScript,
  workflow: graphScript,
};

function keepsMessageEnd(run: Run): boolean {
  return run.directives.fault?.kind !== "drop_message_end";
}

function* events(list: Iterable<SimEvent>): Generator<Step> {
  for (const event of list) yield eventStep(event);
}

/** chat and completion: `message`* → `message_end` (also after a stop, with the answer so far). */
async function* messageScript(run: Run): AsyncGenerator<Step, void> {
  const phase = yield* deltaPhase(run, (text) => answerEvent(run, "message", text));
  if (phase.outcome.kind === "abandoned" || !keepsMessageEnd(run)) return;
  yield eventStep(messageEndEvent(run, phase.deltas));
}

interface ThoughtFields {
  thought?: string;
  observation?: string;
  tool?: string;
  tool_labels?: Record<string, unknown>;
  tool_input?: string;
}

function agentThought(run: Run, id: string, position: number, fields: ThoughtFields): Step {
  return eventStep(
    dataEvent(run, "agent_thought", {
      id,
      position,
      thought: fields.thought ?? "",
      observation: fields.observation ?? "",
      tool: fields.tool ?? "",
      tool_labels: fields.tool_labels ?? {},
      tool_input: fields.tool_input ?? "",
      message_files: [],
    }),
  );
}

/** The one tool call the simulated agent makes; `tool_input` and `observation` are JSON strings like Dify's. */
function toolCall(run: Run): Required<Omit<ThoughtFields, "thought">> {
  const tool = "wikipedia_search";
  return {
    tool,
    tool_labels: { [tool]: { en_US: "WikipediaSearch", zh_Hans: "维基百科搜索" } },
    tool_input: JSON.stringify({ [tool]: { query: run.query } }),
    observation: JSON.stringify({ [tool]: `No article matches "${run.query}" (simulated).` }),
  };
}

/**
 * agent-chat (function calling): round 1 thinks and calls a tool (thought, tool call, observation), round 2
 * streams the answer as `agent_message` and closes its thought with it → `message_end`.
 */
async function* agentChatScript(run: Run): AsyncGenerator<Step, void> {
  const toolRound = randomUUID();
  const answerRound = randomUUID();
  const { observation, ...invocation } = toolCall(run);
  const lookUp = { thought: "Let me look that up first.", ...invocation };
  yield agentThought(run, toolRound, 1, {});
  yield agentThought(run, toolRound, 1, lookUp);
  yield agentThought(run, toolRound, 1, { ...lookUp, observation });
  yield agentThought(run, answerRound, 2, {});
  const phase = yield* deltaPhase(run, (text) => answerEvent(run, "agent_message", text));
  if (phase.outcome.kind === "abandoned") return;
  yield agentThought(run, answerRound, 2, { thought: phase.answer });
  if (keepsMessageEnd(run)) yield eventStep(messageEndEvent(run, phase.deltas));
}

/** New Agent: `agent_message` deltas and a thought, then ONE `message` holding the whole answer → `message_end`. */
async function* newAgentScript(run: Run): AsyncGenerator<Step, void> {
  const round = randomUUID();
  yield agentThought(run, round, 1, {});
  const phase = yield* deltaPhase(run, (text) => answerEvent(run, "agent_message", text));
  if (phase.outcome.kind === "abandoned") return;
  yield agentThought(run, round, 1, { thought: phase.answer });
  yield eventStep(answerEvent(run, "message", phase.answer));
  if (keepsMessageEnd(run)) yield eventStep(messageEndEvent(run, phase.deltas));
}

/** workflow_started, the start node, and the LLM node's start; the LLM output follows as deltas. */
function* graphOpening(run: Run, trace: NodeTrace) {
  yield eventStep(workflowStartedEvent(run));
  yield* events(trace.instant(NODES.start, run.inputs, inputsWithSystemVariables(run)));
  const llm = trace.start(NODES.llm, { prompt: run.prompt });
  yield eventStep(llm.event);
  return llm.execution;
}

function llmOutputs(run: Run, phase: PhaseResult): Record<string, unknown> {
  const usage = { prompt_tokens: run.promptTokens, completion_tokens: phase.deltas };
  return { text: phase.answer, usage, finish_reason: "stop" };
}

/**
 * advanced-chat and workflow share one graph: start → LLM → answer (chatflow, `message` deltas) or end (workflow,
 * `text_chunk` deltas). Chatflow success is `message_end` THEN `workflow_finished`; its failure is
 * `workflow_finished`(failed) then `error` invalid_param "Run failed: …" with no `message_end`. A workflow failure is
 * only a failed status, never an `error` event.
 */
async function* graphScript(run: Run): AsyncGenerator<Step, void> {
  const chatflow = run.app.mode === "advanced-chat";
  const trace = traceOf(run);
  const llm = yield* graphOpening(run, trace);
  if (run.app.reasoning) yield* events(reasoningChunks(run));
  const phase = yield* deltaPhase(run, (text) =>
    chatflow
      ? answerEvent(run, "message", text)
      : dataEvent(run, "text_chunk", { data: { text, from_variable_selector: ["llm", "text"] } }),
  );
  const finished = (status: RunFinish["status"], outputs: RunFinish["outputs"], error: RunFinish["error"]) =>
    eventStep(workflowFinishedEvent(run, trace, { status, outputs, error, completionTokens: phase.deltas }));
  const messageEnd = chatflow && keepsMessageEnd(run) ? [eventStep(messageEndEvent(run, phase.deltas))] : [];
  const llmSucceeded = () =>
    eventStep(trace.finish(llm, { status: "succeeded", outputs: llmOutputs(run, phase), completionTokens: phase.deltas }));

  switch (phase.outcome.kind) {
    case "abandoned":
      return;
    case "failed": {
      const { error } = phase.outcome;
      yield eventStep(trace.finish(llm, { status: "failed", outputs: null, error }));
      yield finished("failed", null, error);
      // The chatflow pipeline wraps the failure in a ValueError, hence invalid_param/400.
      if (chatflow) yield eventStep(errorEvent(run, { code: "invalid_param", status: 400, message: `Run failed: ${error}` }));
      return;
    }
    case "paused":
      yield llmSucceeded();
      yield* events(humanInputPause(run, trace, phase.deltas));
      return;
    case "stopped":
      // A stopped chatflow keeps the answer so far in message_end; the stopped status closes the stream.
      yield* messageEnd;
      yield finished("stopped", null, "Workflow execution stopped by user.");
      return;
    case "completed": {
      yield llmSucceeded();
      if (run.app.humanInput) {
        // The answer waits for a person: the stream ends paused; a submit resumes the run (human-input.ts).
        yield* events(humanInputPause(run, trace, phase.deltas, humanInputNode(1)));
        return;
      }
      const output = chatflow ? { answer: phase.answer } : { text: phase.answer };
      yield* events(trace.instant(chatflow ? NODES.answer : NODES.end, output, output));
      yield* messageEnd;
      yield finished("succeeded", output, null);
    }
  }
}

/** An LLM node with `reasoning_format: separated`: its thinking as deltas, then an empty final chunk. */
function* reasoningChunks(run: Run): Generator<SimEvent> {
  const parts = ["Let me think. ", "The user asked: ", `${JSON.stringify(run.prompt)}. `, "I will answer briefly."];
  const chunk = (reasoning: string, isFinal: boolean) => {
    const messageId = run.app.mode === "workflow" ? {} : { message_id: run.messageId };
    return dataEvent(run, "reasoning_chunk", { data: { ...messageId, reasoning, node_id: NODES.llm.nodeId, is_final: isFinal } });
  };
  for (const part of parts) yield chunk(part, false);
  yield chunk("", true);
}
