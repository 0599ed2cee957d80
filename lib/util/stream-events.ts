// Node types a stream's `on` by overloads for its own events ('error', 'close', ...) and lets any
// other name through with untyped listeners. A stream that emits events of its own declares
// them in an interface merged into its class, with these helpers: then a listener of the wrong
// shape for one of them fails to compile, and every other event works as Node types it.
//
//   export interface PushStream {
//     on<E extends keyof PushStreamEvents>(event: E, listener: Listener<PushStreamEvents, E>): this;
//     on(event: 'error', listener: (error: Error) => void): this;
//     on<E extends string | symbol>(event: OtherEvent<E, PushStreamEvents>, listener: AnyListener): this;
//   }
//
// (An interface that extends a generic one cannot be merged into a stream class: TypeScript
// requires its `on` to be identical to Writable's.)

/** A stream's own events: each name and the arguments its listeners receive. */
export type EventMap = Record<string, unknown[]>;

/** The listener of event `E` of `Events`. */
export type Listener<Events extends EventMap, E extends keyof Events> = (
  ...args: Events[E]
) => void;

/** Any event name but those of `Events` (one of theirs becomes `never`, so it matches no other overload). */
export type OtherEvent<E, Events extends EventMap> = E & Exclude<E, keyof Events>;

/** The listener of an event that is not the stream's own, as Node's catch-all overload has it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- exactly Node's own catch-all
export type AnyListener = (...args: any[]) => void;
