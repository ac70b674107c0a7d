/**
 * Import rules for src/ (`npm run lint:deps`). The core stays transport-free, and neither modules
 * nor folders import each other in a circle: a folder cycle (once `invoke ↔ server`) means two
 * concerns that can no longer change apart.
 */
module.exports = {
  forbidden: [
    {
      name: "no-circular-modules",
      severity: "error",
      comment: "Modules must not import each other in a circle at run time (a cycle of type-only imports loads nothing).",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "no-circular-folders",
      severity: "error",
      scope: "folder",
      comment: "Folders of src/ must not depend on each other in a circle.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-is-transport-free",
      severity: "error",
      comment: "src/core runs without grpc-js: the transport adapter (src/transport) is the only place that knows call objects.",
      from: { path: "^src/core/" },
      to: { path: "@grpc/grpc-js" },
    },
    {
      name: "grpc-calls-only-in-the-adapter",
      severity: "error",
      comment: "Handlers, middleware and the core never see grpc-js call objects or the grpc-js call helpers.",
      from: { path: "^src/(core|rpc|middleware)/" },
      to: { path: "^src/(grpc/(call-scope|writer)|transport/grpc-adapter)\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(generated|node_modules|dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
