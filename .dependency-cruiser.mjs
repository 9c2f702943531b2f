// The layers of src/ and the rules that keep them (docs/ARCHITECTURE.md). `npm run lint` runs
// `depcruise src`; any rule below that fails makes the lint (and CI) fail.
//
// A layer may import itself and the layers BELOW it in this list, never one above it. A file in
// src/ that no layer claims is an error too: a new folder gets a place here first.
export const LAYERS = [
  // Shared contracts (the store contract, errors) and small utilities with no memzip imports.
  { name: "core", path: "^src/(core/|errors\\.ts$|types/)" },
  // The Cache contract and its in-memory implementations.
  { name: "cache", path: "^src/cache/" },
  // Pure formats: envelopes, codecs, the write policy's pure parts.
  { name: "codec", path: "^src/codec/" },
  // Model backends: llama.cpp, Ollama, OpenAI, the llm coder, asset trainers.
  { name: "model", path: "^src/model/" },
  // Store implementations behind core/store.ts.
  { name: "store", path: "^src/store/" },
  // Keyword and vector search, embeddings, similarity.
  { name: "search", path: "^src/search/" },
  // Summaries, entities, language.
  { name: "semantic", path: "^src/semantic/" },
  // Import/export streams, worker pools for codecs, records, metrics.
  { name: "pipeline", path: "^src/pipeline/" },
  // Metrics of compression and summaries, benchmarks as a library.
  { name: "quality", path: "^src/quality/" },
  // The facade and its parts.
  { name: "engine", path: "^src/(engine\\.ts$|engine/|engine-options\\.ts$|engine-stats\\.ts$)" },
  // Settings from files, environment and flags, turned into EngineOptions (a server reuses it).
  { name: "config", path: "^src/config/" },
  // The library's public surface: the engine and what a front end of its own needs (resolveConfig).
  { name: "package", path: "^src/index\\.ts$" },
  // Work spread over processes and machines: import chunks on a BullMQ queue, the workers that code them.
  { name: "fleet", path: "^src/fleet/" },
  // Network front ends: HTTP API, MCP, dashboard, over the engine facade (and the fleet for queued imports).
  { name: "server", path: "^src/server/" },
  // The command line, the outermost front end: it starts servers and workers too.
  { name: "cli", path: "^src/cli/" },
];

// Imports that break a rule today and go away when the branches of issue 13 are merged. Each
// entry names the rule, the importing file and why; delete it when that import is gone.
/** Rule exemptions while code moves between layers (none now: keep it empty). */
const TRANSITIONAL = {
  "no-legacy-store": [],
};

const any = (paths) => paths.join("|");
const allLayers = any(LAYERS.map((layer) => layer.path));

const upward = LAYERS.slice(0, -1).map((layer, index) => {
  const above = LAYERS.slice(index + 1).filter((higher) => !(layer.name === "core" && higher.name === "codec"));
  const exempt = TRANSITIONAL[`no-upward-import-${layer.name}`] ?? [];
  return {
    name: `no-upward-import-${layer.name}`,
    comment: `${layer.name} may import only itself and the layers below it (${LAYERS.slice(0, index).map((l) => l.name).join(", ") || "none"}).`,
    severity: "error",
    from: { path: layer.path, ...(exempt.length ? { pathNot: any(exempt) } : {}) },
    to: { path: any(above.map((higher) => higher.path)) },
  };
});

export default {
  forbidden: [
    {
      name: "no-circular",
      comment: "No import cycles anywhere in src/, type-only imports included.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    ...upward,
    {
      name: "no-upward-import-core-codec",
      comment: "core may import codec TYPES only (core/store.ts names Asset and AssetKind); nothing at run time.",
      severity: "error",
      from: { path: LAYERS[0].path },
      to: { path: LAYERS.find((layer) => layer.name === "codec").path, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "only-cli-imports-cli",
      comment: "Nothing but the CLI imports the CLI (a server uses the engine facade, not CLI code).",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "no-legacy-store",
      comment: "Outside src/store/, use openStore and the Store contract (core/store.ts), never SqliteStore or the legacy MemoryStore.",
      severity: "error",
      from: { path: "^src/", pathNot: any(["^src/store/", ...TRANSITIONAL["no-legacy-store"]]) },
      to: { path: "^src/store/(sqlite|sqlite-search|types)\\.ts$" },
    },
    {
      name: "every-file-in-a-layer",
      comment: "Each file in src/ belongs to a layer of .dependency-cruiser.mjs; place a new folder there first.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/", pathNot: allLayers },
    },
    {
      name: "every-file-in-a-layer-from",
      comment: "Each file in src/ belongs to a layer of .dependency-cruiser.mjs; place a new folder there first.",
      severity: "error",
      from: { path: "^src/", pathNot: allLayers },
      to: {},
    },
    {
      name: "not-to-unresolvable",
      comment: "An import that resolves to nothing (a moved file, a typo, a package missing from package.json).",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    // Type-only imports count: a cycle or an upward import through types is still a wrong edge.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    moduleSystems: ["es6", "cjs"],
    // Resolve packages as Node does (tinyld, loaded with createRequire, has only an `exports` map).
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
  },
};
