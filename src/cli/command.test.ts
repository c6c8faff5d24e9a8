import { describe, expect, test } from "bun:test";
import { Command, UsageError, type Invocation } from "./command.ts";

/** A program shaped like berth's: a global flag, commands with arguments, options and a group. */
function program(calls: unknown[][]) {
  const p = new Command("berth").version("1.2.3").option("--debug", "print stack traces");
  p.command("stats").argument("[targets...]", "what to show")
    .option("-a, --all", "everything")
    .option("--no-stream", "one sample")
    .option("--format <format>", "layout", "table")
    .option("-w, --wd <dir>", "working directory")
    .action((...args) => void calls.push(args.slice(0, -1)));
  p.command("top").argument("<target>", "which").argument("[ps-options...]", "for ps")
    .allowUnknownOption()
    .option("--root <dir>", "state", "/run/berth")
    .action((...args) => void calls.push(args.slice(0, -1)));
  p.command("events")
    .option("-f, --filter <key=value>", "repeatable", (v: string, all: string[]) => [...all, v], [] as string[])
    .action((...args) => void calls.push(args.slice(0, -1)));
  const group = p.command("cgroup").description("cgroups");
  group.command("ls").alias("list").argument("[path]", "where", "/").option("-d, --depth <n>", "levels", "32")
    .action((...args) => void calls.push(args.slice(0, -1)));
  group.command("run").argument("<path>", "where").argument("<command...>", "what")
    .option("-m, --mount", "join mnt").option("-u, --uts", "join uts").option("--no-cgroup", "stay")
    .action((...args) => void calls.push(args.slice(0, -1)));
  return p;
}

async function run(argv: string[]): Promise<{ calls: unknown[][]; todo: Invocation }> {
  const calls: unknown[][] = [];
  const todo = program(calls).parse(argv);
  if (todo.kind === "run") await todo.run();
  return { calls, todo };
}

const usage = (argv: string[]) => {
  try {
    program([]).parse(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`${argv.join(" ")} parsed`);
};

describe("berth's command line (commander's grammar)", () => {
  test("defaults, negation and options between, before and after arguments", async () => {
    expect((await run(["stats"])).calls).toEqual([[[], { stream: true, format: "table" }]]);
    expect((await run(["stats", "a", "--no-stream", "b", "--format", "json", "-a"])).calls)
      .toEqual([[["a", "b"], { stream: false, format: "json", all: true }]]);
    expect((await run(["stats", "--format=json"])).calls[0]![1]).toMatchObject({ format: "json" });
    // Go's flags: a boolean takes =true or =false; --no-stream=false is streaming again
    expect((await run(["stats", "-a", "--all=false", "--no-stream=false"])).calls[0]![1]).toMatchObject({ all: false, stream: true });
    expect((await run(["stats", "--all=true"])).calls[0]![1]).toMatchObject({ all: true });
  });

  test("-abc is -a -b -c; a short option with a value takes the rest of the word or the next one", async () => {
    expect((await run(["cgroup", "run", "-mu", "/x", "--", "sh", "-c", "exit 3"])).calls)
      .toEqual([["/x", ["sh", "-c", "exit 3"], { cgroup: true, mount: true, uts: true }]]);
    expect((await run(["stats", "-w/tmp"])).calls[0]![1]).toMatchObject({ wd: "/tmp" });
    expect((await run(["stats", "-aw", "/tmp"])).calls[0]![1]).toMatchObject({ all: true, wd: "/tmp" });
  });

  test("a value is taken even when it starts with -, and -- ends the options", async () => {
    expect((await run(["stats", "--format", "-5"])).calls[0]![1]).toMatchObject({ format: "-5" });
    expect((await run(["stats", "--", "--all"])).calls[0]![0]).toEqual(["--all"]);
  });

  test("a parser collects a repeated option; an optional argument falls back to its default", async () => {
    expect((await run(["events", "-f", "event=oom", "--filter=container=web"])).calls[0]![0]).toEqual({ filter: ["event=oom", "container=web"] });
    expect((await run(["events"])).calls[0]![0]).toEqual({ filter: [] });
    expect((await run(["cgroup", "ls"])).calls[0]).toEqual(["/", { depth: "32" }]);
    expect((await run(["cgroup", "ls", "/a", "-d", "2"])).calls[0]).toEqual(["/a", { depth: "2" }]);
  });

  test("the program's options count anywhere; unknown options pass through only where allowed", async () => {
    const before = await run(["--debug", "stats"]);
    const after = await run(["stats", "--debug"]);
    for (const { todo } of [before, after]) expect(todo.kind === "run" && todo.globals.debug).toBe(true);
    expect((await run(["top", "web", "-o", "pid,comm", "--root", "/r"])).calls).toEqual([["web", ["-o", "pid,comm"], { root: "/r" }]]);
    expect((await run(["top", "web", "aux"])).calls[0]![1]).toEqual(["aux"]);
  });

  test("errors read like commander's", () => {
    expect(usage(["stats", "--memroy", "1g"])).toBe("unknown option '--memroy'");
    expect(usage(["stats", "-x"])).toBe("unknown option '-x'");
    expect(usage(["stats", "--format"])).toBe("option '--format <format>' argument missing");
    expect(usage(["stats", "--all=yes"])).toBe("option '-a, --all' takes no value (or =true, =false)");
    expect(usage(["top"])).toBe("missing required argument 'target'");
    expect(usage(["cgroup", "run", "/x"])).toBe("missing required argument 'command'");
    expect(usage(["cgroup", "ls", "/a", "/b"])).toBe("too many arguments for 'ls'. Expected 1 argument but got 2.");
    expect(usage(["nosuch"])).toBe("unknown command 'nosuch'");
    expect(usage(["cgroup", "nosuch"])).toBe("unknown command 'nosuch'");
  });

  test("help: usage, arguments, options with defaults, commands; for a command, a group, or `help NAME`", () => {
    const p = program([]);
    const stats = p.parse(["stats", "--format", "json", "--help"]);
    expect(stats.kind).toBe("help");
    const text = (stats as { text: string }).text;
    expect(text).toStartWith("Usage: berth stats [options] [targets...]\n");
    expect(text).toContain("  targets  what to show\n");
    expect(text).toMatch(/\n  --format <format>\s+layout \(default: "table"\)\n/);
    expect(text).toMatch(/\n  -h, --help\s+display help for command\n$/);
    const root = p.parse([]);
    expect(root.kind).toBe("help");
    expect((root as { text: string }).text).toMatch(/Commands:\n {2}stats \[options\] \[targets\.\.\.\]\n/);
    expect((root as { text: string }).text).toMatch(/\n {2}-v, --version\s+output the version number\n/);
    expect((p.parse(["cgroup"]) as { text: string }).text).toStartWith("Usage: berth cgroup [options] [command]\n\ncgroups\n");
    expect((p.parse(["help", "top"]) as { text: string }).text).toStartWith("Usage: berth top [options] <target> [ps-options...]\n");
    expect((p.parse(["cgroup", "help", "run"]) as { text: string }).text).toStartWith("Usage: berth cgroup run [options] <path> <command...>\n");
  });

  test("--version and -v at the program's level", () => {
    expect(program([]).parse(["--version"])).toEqual({ kind: "version", text: "1.2.3\n" });
    expect(program([]).parse(["-v"])).toEqual({ kind: "version", text: "1.2.3\n" });
    expect(usage(["stats", "-v"])).toBe("unknown option '-v'");
  });
});

describe("aliases: docker's ls is also list", () => {
  test("the alias runs the command, with its arguments and options; help names both", async () => {
    expect((await run(["cgroup", "list", "-d", "2", "/x"])).calls).toEqual([["/x", { depth: "2" }]]);
    expect((await run(["cgroup", "ls", "/x"])).calls).toEqual([["/x", { depth: "32" }]]);
    const help = (await run(["cgroup", "--help"])).todo;
    expect(help.kind === "help" && help.text).toContain("\n  ls|list [options] [path]");
    const sub = (await run(["cgroup", "help", "list"])).todo;
    expect(sub.kind === "help" && sub.text).toContain("Usage: berth cgroup ls [options] [path]");
  });
});
