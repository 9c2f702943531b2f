// The slice of the WebAssembly JS API that memzip uses. TypeScript declares it only in the DOM
// and web-worker libraries, which do not apply to a Node program.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: Record<string, unknown>);
    readonly exports: Record<string, unknown>;
  }
}
