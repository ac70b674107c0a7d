import { errors } from "./errors.js";
import { randomUUID } from "./ids.js";

export interface ConversationTurn {
  conversationId: string;
  /** 1 for a new conversation, then 2, 3, … */
  turn: number;
}

/** Conversations belong to an end user, i.e. to (app, user) like Dify's EndUser rows. */
export class ConversationStore {
  private readonly turnsByOwner = new Map<string, Map<string, number>>();

  /** Opens a new conversation (id null) or the next turn of an existing one; an unknown id is 404 like Dify. */
  beginTurn(appId: string, user: string, conversationId: string | null): ConversationTurn {
    const key = `${appId}\u0000${user}`;
    let turns = this.turnsByOwner.get(key);
    if (!turns) {
      turns = new Map();
      this.turnsByOwner.set(key, turns);
    }
    if (conversationId === null) {
      const id = randomUUID();
      turns.set(id, 1);
      return { conversationId: id, turn: 1 };
    }
    const previous = turns.get(conversationId);
    if (previous === undefined) throw errors.conversationNotExists();
    turns.set(conversationId, previous + 1);
    return { conversationId, turn: previous + 1 };
  }
}
