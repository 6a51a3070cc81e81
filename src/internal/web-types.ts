// The fetch standard's input types, derived from the constructors rather than named: `HeadersInit` and `BodyInit`
// are DOM library names that @types/node does not declare globally, and brisk's declarations must compile for a
// consumer without the DOM library. Derived this way they are the DOM's types where that library is loaded and
// undici's where only @types/node is.

/** What `new Headers(init)` accepts. */
export type HeadersInit = NonNullable<ConstructorParameters<typeof Headers>[0]>;

/** What `new Response(body)` accepts as a body. */
export type BodyInit = NonNullable<ConstructorParameters<typeof Response>[0]>;

/** What a byte stream's reader's `read()` resolves to. */
export type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>>;
