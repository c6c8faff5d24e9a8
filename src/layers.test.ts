/**
 * The layering of src/ (../shared/DESIGN.md, "Layers and who may import whom"), checked.
 *
 * Every import in src/ — `import`, `import type`, `export … from`, `import("…")`,
 * `typeof import("…")` and `require("…")` — is read with a real TypeScript parser
 * (@babel/parser: comments and strings cannot fool it) and the test fails on
 *   - an import against the layer table (LAYERS below, which mirrors DESIGN.md's),
 *   - a cycle between files,
 *   - a cycle between folders,
 *   - file I/O modules (node:fs, node:child_process, bun:ffi) imported outside src/sys/, or
 *     Bun's globals that do the same (Bun.spawn, Bun.spawnSync, Bun.file, Bun.write) used there,
 *   - production code importing test code, or an import the test cannot resolve.
 * Each failure names the import as `file:line → target`.
 *
 * Test code: `*.test.ts`, `*.case.ts` (a behavioural suite shared by several tests),
 * `*.fixture.ts` (a program a test runs), anything under a `fixtures/` folder and the
 * repository's test/ folder (shared harnesses). Test files are left out of the layer
 * table and the I/O rule: a test drives the real higher layers and the real kernel to
 * check a lower one (sys/bpf.test.ts attaches a program cgroups/ compiles) and reads its
 * fixtures with node:fs. They may import any file in src/ and test/. Production code may
 * never import test code. Nothing imports a test file except another test, so test files
 * cannot close a cycle and are left out of the cycle checks.
 *
 * Folders nest: a folder is a folder with everything below it. A cycle between folders
 * is a cycle between folders neither of which holds the other (cli/runtime ↔ cli/cgroup,
 * engine/image ↔ engine/container), found where their two paths part. A parent folder's
 * files and its subfolders may use each other (cli/berth.ts dispatches to cli/cgroup/,
 * whose verbs parse with cli/command.ts); a cycle of files through them is still a
 * cycle between files.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { parse } from "@babel/parser";
import { Glob } from "bun";

const REPO = normalize(join(import.meta.dir, ".."));

/** DESIGN.md's table: a layer (a folder of src/) → the layers it may import. */
const LAYERS: Record<string, readonly string[]> = {
  cli: ["observe", "engine", "runtime", "plan", "cgroups", "security", "spec", "sys"],
  observe: ["engine", "runtime", "cgroups", "security", "spec", "sys"],
  engine: ["runtime", "cgroups", "security", "spec", "sys"],
  runtime: ["plan", "cgroups", "security", "spec", "sys"],
  plan: ["cgroups", "security", "spec", "sys"],
  cgroups: ["spec", "sys"],
  security: ["spec", "sys"],
  spec: [],
  sys: [],
};
/** Single files at src/'s root (errors.ts): importable by all; they import only each other. */
const ROOT = "src root";

/** Modules that do file I/O, spawn or call native code: src/sys/ only (DESIGN.md). */
const IO_MODULES = ["node:fs", "node:fs/promises", "node:child_process", "bun:ffi"];

/**
 * Imports of IO_MODULES outside src/sys/ still to be moved behind it (file → modules):
 * none are left. The list only shrinks, and an entry that no longer matches an import
 * fails the test, so it cannot go stale.
 */
const IO_OUTSIDE_SYS_TODAY: Record<string, readonly string[]> = {};

/**
 * Imports against the table that another change is removing (importer → imported file).
 * Like IO_OUTSIDE_SYS_TODAY, an entry that no longer matches fails the test.
 */
const LAYER_EXCEPTIONS: Record<string, readonly string[]> = {
};

/** Bun's globals that spawn or do file I/O without an import: src/sys/ only, as IO_MODULES. */
const IO_GLOBALS = ["spawn", "spawnSync", "file", "write", "mmap"];

/** Today's uses of IO_GLOBALS outside src/sys/ (file → globals): the list only shrinks, as IO_OUTSIDE_SYS_TODAY. */
const IO_GLOBALS_OUTSIDE_SYS_TODAY: Record<string, readonly string[]> = {};

/** Files outside src/ that production code may import: the version comes from package.json. */
const OUTSIDE_SRC = ["package.json"];

interface Import {
  /** repo-relative path of the importing file */
  from: string;
  line: number;
  /** the specifier as written */
  specifier: string;
  /** repo-relative path of the imported file, for relative specifiers */
  target?: string;
}

const isTestCode = (path: string): boolean =>
  /\.(test|case|fixture)\.ts$/.test(path) || path.startsWith("test/") || path.split("/").includes("fixtures");

/** The layer of a src/ file: its first folder, or ROOT for src/*.ts. */
function layerOf(path: string): string {
  const parts = path.split("/");
  return parts.length === 2 ? ROOT : parts[1]!;
}

const show = (i: Import) => `${i.from}:${i.line} → ${i.target ?? i.specifier}`;

type Node = { type: string; loc?: { start: { line: number } }; [key: string]: unknown };

/** The specifier node of an import-like node, or undefined. */
function specifierOf(node: Node): Node | undefined {
  switch (node.type) {
    case "ImportDeclaration":
    case "ExportAllDeclaration":
    case "ExportNamedDeclaration":
    case "ImportExpression":
    case "TSImportType":
      return (node.source as Node | null) ?? undefined;
    case "CallExpression": {
      const callee = node.callee as Node;
      const isRequire = callee.type === "Identifier" && callee.name === "require";
      return isRequire || callee.type === "Import" ? (node.arguments as Node[])[0] : undefined;
    }
    case "TSExternalModuleReference":
      return node.expression as Node;
  }
  return undefined;
}

function literalValue(node: Node): string | undefined {
  if (node.type === "StringLiteral") return node.value as string;
  if (node.type === "TemplateLiteral" && (node.expressions as unknown[]).length === 0) {
    return ((node.quasis as Node[])[0]!.value as { cooked: string }).cooked;
  }
  return undefined;
}

/** A use of one of IO_GLOBALS: `Bun.spawn` at file:line. */
interface GlobalUse {
  from: string;
  line: number;
  name: string;
}
const GLOBAL_USES: GlobalUse[] = [];

/** Every import of one file (a computed specifier is returned with specifier ""); its IO_GLOBALS uses go to GLOBAL_USES. */
function importsOf(path: string): Import[] {
  const text = readFileSync(join(REPO, path), "utf8");
  const ast = parse(text, { sourceType: "module", plugins: ["typescript"] }) as unknown as { program: Node };
  const found = new Map<string, Import>();
  const visit = (node: Node): void => {
    const spec = specifierOf(node);
    if (spec) {
      const specifier = literalValue(spec) ?? "";
      const line = node.loc!.start.line;
      const target = specifier.startsWith(".") ? relative(REPO, join(REPO, dirname(path), specifier)) : undefined;
      found.set(`${line} ${specifier}`, { from: path, line, specifier, target });
    }
    if (node.type === "MemberExpression") {
      const object = node.object as Node;
      const property = node.property as Node;
      if (object.type === "Identifier" && object.name === "Bun" && property.type === "Identifier" && IO_GLOBALS.includes(property.name as string)) {
        GLOBAL_USES.push({ from: path, line: node.loc!.start.line, name: `Bun.${property.name as string}` });
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "loc" || !value || typeof value !== "object") continue;
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === "object" && typeof (child as Node).type === "string") visit(child as Node);
      }
    }
  };
  visit(ast.program);
  return [...found.values()];
}

const FILES = [...new Glob("src/**/*.ts").scanSync(REPO)].sort();
const IMPORTS = FILES.flatMap(importsOf);
const PRODUCTION = IMPORTS.filter((i) => !isTestCode(i.from));

/** Strongly connected components with more than one member (Tarjan), each in graph order. */
function cycles<T>(graph: Map<T, Set<T>>): T[][] {
  let next = 0;
  const index = new Map<T, number>();
  const low = new Map<T, number>();
  const stack: T[] = [];
  const onStack = new Set<T>();
  const found: T[][] = [];
  const connect = (v: T): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: T[] = [];
      let w: T;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) found.push(scc.reverse());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return found;
}

/** One shortest loop through `start` inside `members`: the nodes in order, start first. */
function loopThrough<T>(graph: Map<T, Set<T>>, start: T, members: Set<T>): T[] {
  const parent = new Map<T, T>();
  const queue: T[] = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(parent.get(path[0]!)!);
        return path;
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/** The two folders where `a` and `b` part (a/x/f.ts, a/y/g.ts → a/x, a/y), or undefined when one folder holds the other's file. */
function partingFolders(a: string, b: string): [string, string] | undefined {
  const da = dirname(a).split("/");
  const db = dirname(b).split("/");
  let i = 0;
  while (i < da.length && i < db.length && da[i] === db[i]) i++;
  if (i === da.length || i === db.length) return undefined;
  return [da.slice(0, i + 1).join("/"), db.slice(0, i + 1).join("/")];
}

/** Describe each cycle of `graph` as the imports that close it (`edge(a, b)` is one import a → b). */
function describeCycles(graph: Map<string, Set<string>>, edge: (a: string, b: string) => Import, what: string): string[] {
  return cycles(graph).map((scc) => {
    const loop = loopThrough(graph, scc[0]!, new Set(scc));
    const steps = loop.map((v, i) => show(edge(v, loop[(i + 1) % loop.length]!)));
    const folders = what === "folders" ? ` ${[...loop, loop[0]].join(" → ")}` : "";
    return `cycle between ${what}${folders}: ${steps.join(", then ")}`;
  });
}

describe("layers (../shared/DESIGN.md)", () => {
  test("src/ holds only the layers in the table", () => {
    const layers = new Set(FILES.map(layerOf));
    const unknown = [...layers].filter((l) => l !== ROOT && !(l in LAYERS));
    expect(unknown.map((l) => `src/${l}/ is not in DESIGN.md's layer table; add it there and to LAYERS in src/layers.test.ts`)).toEqual([]);
  });

  test("every import resolves, with a literal path", () => {
    const bad = IMPORTS.flatMap((i) => {
      if (i.specifier === "") return [`${i.from}:${i.line}: an import with a computed path; write the path as a string literal so this check can see it`];
      if (i.target !== undefined && !(existsSync(join(REPO, i.target)) && statSync(join(REPO, i.target)).isFile())) {
        return [`${show(i)}: no such file; import the file with its .ts extension`];
      }
      return [];
    });
    expect(bad).toEqual([]);
  });

  test("imports follow the layer table", () => {
    const bad: string[] = [];
    const excused = new Set<string>();
    for (const i of PRODUCTION) {
      if (i.target === undefined) continue;
      if (isTestCode(i.target)) {
        bad.push(`${show(i)}: production code imports test code; move what it needs out of the test`);
        continue;
      }
      if (!i.target.startsWith("src/")) {
        if (!OUTSIDE_SRC.includes(i.target)) bad.push(`${show(i)}: outside src/; production code imports only src/ (and ${OUTSIDE_SRC.join(", ")})`);
        continue;
      }
      const from = layerOf(i.from);
      const to = layerOf(i.target);
      if (from === to || to === ROOT) continue;
      if (from !== ROOT && LAYERS[from]?.includes(to)) continue;
      if (LAYER_EXCEPTIONS[i.from]?.includes(i.target)) {
        excused.add(`${i.from} → ${i.target}`);
        continue;
      }
      const may = from === ROOT ? "nothing" : LAYERS[from]!.map((l) => `${l}/`).join(", ") || "nothing";
      bad.push(`${show(i)}: ${from === ROOT ? "a single file at src/'s root" : `${from}/`} may import ${may} (and src/*.ts); see ../shared/DESIGN.md`);
    }
    const stale = Object.entries(LAYER_EXCEPTIONS)
      .flatMap(([from, targets]) => targets.map((t) => `${from} → ${t}`))
      .filter((e) => !excused.has(e))
      .map((e) => `LAYER_EXCEPTIONS lists ${e}, which is no longer imported: delete the entry`);
    expect([...bad, ...stale]).toEqual([]);
  });

  test("file I/O, spawning and FFI are imported only under src/sys/", () => {
    const bad: string[] = [];
    const excused = new Set<string>();
    for (const i of PRODUCTION) {
      const module = i.specifier.startsWith("node:") || i.specifier.startsWith("bun:") ? i.specifier : `node:${i.specifier}`;
      if (!IO_MODULES.includes(module) || i.from.startsWith("src/sys/")) continue;
      if (IO_OUTSIDE_SYS_TODAY[i.from]?.includes(module)) excused.add(`${i.from} ${module}`);
      else bad.push(`${show(i)}: only src/sys/ does file I/O, spawns or calls native code; use (or add) a function in src/sys/`);
    }
    const stale = Object.entries(IO_OUTSIDE_SYS_TODAY)
      .flatMap(([from, modules]) => modules.map((m) => `${from} ${m}`))
      .filter((e) => !excused.has(e))
      .map((e) => `IO_OUTSIDE_SYS_TODAY lists ${e.replace(" ", " → ")}, which no longer imports it: delete the entry`);
    expect([...bad, ...stale]).toEqual([]);
  });

  test("Bun's spawn and file globals are used only under src/sys/", () => {
    const bad: string[] = [];
    const excused = new Set<string>();
    for (const u of GLOBAL_USES) {
      if (isTestCode(u.from) || u.from.startsWith("src/sys/")) continue;
      if (IO_GLOBALS_OUTSIDE_SYS_TODAY[u.from]?.includes(u.name)) excused.add(`${u.from} ${u.name}`);
      else bad.push(`${u.from}:${u.line} ${u.name}: only src/sys/ spawns or does file I/O; use sys/program.ts (or add a function in src/sys/)`);
    }
    const stale = Object.entries(IO_GLOBALS_OUTSIDE_SYS_TODAY)
      .flatMap(([from, names]) => names.map((n) => `${from} ${n}`))
      .filter((e) => !excused.has(e))
      .map((e) => `IO_GLOBALS_OUTSIDE_SYS_TODAY lists ${e.replace(" ", " → ")}, which no longer uses it: delete the entry`);
    expect([...bad, ...stale]).toEqual([]);
  });

  test("no cycle between files", () => {
    const graph = new Map<string, Set<string>>();
    const first = new Map<string, Import>();
    for (const i of PRODUCTION) {
      if (i.target === undefined || !i.target.startsWith("src/")) continue;
      if (!graph.has(i.from)) graph.set(i.from, new Set());
      graph.get(i.from)!.add(i.target);
      if (!first.has(`${i.from} ${i.target}`)) first.set(`${i.from} ${i.target}`, i);
    }
    expect(describeCycles(graph, (a, b) => first.get(`${a} ${b}`)!, "files")).toEqual([]);
  });

  test("no cycle between folders", () => {
    const graph = new Map<string, Set<string>>();
    const first = new Map<string, Import>();
    for (const i of PRODUCTION) {
      if (i.target === undefined || !i.target.startsWith("src/")) continue;
      const folders = partingFolders(i.from, i.target);
      if (!folders) continue;
      const [a, b] = folders;
      if (!graph.has(a)) graph.set(a, new Set());
      graph.get(a)!.add(b);
      if (!first.has(`${a} ${b}`)) first.set(`${a} ${b}`, i);
    }
    expect(describeCycles(graph, (a, b) => first.get(`${a} ${b}`)!, "folders")).toEqual([]);
  });
});
