// A turn while it runs on this gateway: it gives each event the session's next seq, keeps the turn's events in
// memory for followers that attach late, hands each to the followers, and stores them in order (batched: a
// stream of text deltas becomes one insert per flush). The turn keeps running when its caller's connection
// drops; agent.attach follows it again, agent.cancel aborts it.
import type { AgentEvent } from '@cyber/contract';
import type { AgentRepository } from './agent.repository.js';

/** An event before it has a seq. */
export type UnnumberedEvent = AgentEvent extends infer E
  ? E extends AgentEvent
    ? Omit<E, 'seq'>
    : never
  : never;

/** Receives the events of a turn, in order. */
export type TurnFollower = (event: AgentEvent) => void;

/** One running turn. */
export class LiveTurn {
  readonly sessionId: string;
  readonly turnId: string;
  readonly projectId: string;
  readonly userId: number;
  /** Seq of the turn's first event: everything before it is in the database. */
  readonly firstSeq: number;
  readonly controller = new AbortController();
  readonly #events: AgentEvent[] = [];
  readonly #followers = new Set<TurnFollower>();
  readonly #repository: AgentRepository;
  #nextSeq: number;
  #unsaved: AgentEvent[] = [];
  #saving: Promise<void> = Promise.resolve();
  #saveError: Error | undefined;
  #resolveDone: () => void = () => undefined;
  /** Settles when the turn has ended and everything of it is stored. */
  readonly done: Promise<void>;

  constructor(options: {
    sessionId: string;
    turnId: string;
    projectId: string;
    userId: number;
    firstSeq: number;
    repository: AgentRepository;
  }) {
    this.sessionId = options.sessionId;
    this.turnId = options.turnId;
    this.projectId = options.projectId;
    this.userId = options.userId;
    this.firstSeq = options.firstSeq;
    this.#nextSeq = options.firstSeq;
    this.#repository = options.repository;
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /** The turn's signal: aborted by agent.cancel, session delete and shutdown. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Numbers, keeps, streams and (soon) stores an event. */
  emit(event: UnnumberedEvent): AgentEvent {
    const numbered: AgentEvent = { ...event, seq: this.#nextSeq++ };
    this.#events.push(numbered);
    this.#unsaved.push(numbered);
    for (const follower of this.#followers) follower(numbered);
    this.#saving = this.#saving.then(() => this.#flush());
    return numbered;
  }

  async #flush(): Promise<void> {
    const batch = this.#unsaved;
    if (batch.length === 0 || this.#saveError !== undefined) return;
    this.#unsaved = [];
    try {
      await this.#repository.appendEvents(this.sessionId, this.turnId, batch);
    } catch (error) {
      this.#saveError = error instanceof Error ? error : new Error(String(error));
    }
  }

  /** Waits until every event emitted so far is stored; throws when storing failed. */
  async saved(): Promise<void> {
    await this.#saving;
    if (this.#saveError !== undefined) throw this.#saveError;
  }

  /** The turn's events so far. */
  snapshot(): AgentEvent[] {
    return [...this.#events];
  }

  /**
   * The turn's events after `afterSeq`, and from then on every new one to `follower` (synchronously, so none
   * is missed or repeated between the two). Returns the unfollow function.
   */
  follow(afterSeq: number, follower: TurnFollower): { missed: AgentEvent[]; unfollow: () => void } {
    const missed = this.#events.filter((event) => event.seq > afterSeq);
    this.#followers.add(follower);
    return { missed, unfollow: () => this.#followers.delete(follower) };
  }

  /** Marks the turn ended (after its final event is stored). */
  end(): void {
    this.#followers.clear();
    this.#resolveDone();
  }
}

/** Turns running on this gateway, by session. */
export class LiveTurns {
  readonly #turns = new Map<string, LiveTurn>();

  get(sessionId: string): LiveTurn | undefined {
    return this.#turns.get(sessionId);
  }

  add(turn: LiveTurn): void {
    this.#turns.set(turn.sessionId, turn);
  }

  delete(turn: LiveTurn): void {
    if (this.#turns.get(turn.sessionId) === turn) this.#turns.delete(turn.sessionId);
  }

  /** Cancels every turn (shutdown) and waits for them to be stored. */
  async cancelAll(): Promise<void> {
    const turns = [...this.#turns.values()];
    for (const turn of turns) turn.controller.abort();
    await Promise.all(turns.map((turn) => turn.done));
  }
}
